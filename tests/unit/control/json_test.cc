// control/json.h: the control protocol's answers read with Boost.JSON
// (hearthctl). What the hand-written reader's tests checked, on the library.
#include "control/json.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::control {
namespace {

using namespace std::string_literals;

TEST(ParseObject, ObjectWithEveryKindOfValue) {
  auto v = parse_object(R"( { "ok" : true, "pid": 4242, "phase":"running", "none": null, "ratio": 0.25,
                              "big": 18446744073709551615, "neg": -12.5e1 } )");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->size(), 7u);
  EXPECT_TRUE(flag(*v, "ok"));
  EXPECT_EQ(num(*v, "pid"), 4242);
  EXPECT_EQ(str(*v, "phase"), "running");
  EXPECT_DOUBLE_EQ(num(*v, "ratio"), 0.25);
  EXPECT_DOUBLE_EQ(num(*v, "big"), 18446744073709551615.0);
  EXPECT_DOUBLE_EQ(num(*v, "neg"), -125.0);
  ASSERT_NE(v->if_contains("none"), nullptr);
  EXPECT_TRUE(v->if_contains("none")->is_null());
  // Defaults when missing or of another kind.
  EXPECT_EQ(num(*v, "phase", -1), -1);
  EXPECT_EQ(str(*v, "pid", "dflt"), "dflt");
  EXPECT_TRUE(flag(*v, "pid", true));
  EXPECT_EQ(num(*v, "missing", 7), 7);
  EXPECT_EQ(object_at(*v, "pid"), nullptr);
  EXPECT_EQ(array_at(*v, "missing"), nullptr);
}

TEST(ParseObject, OnlyAnObjectIsAnAnswer) {
  EXPECT_TRUE(parse_object("{}"));
  EXPECT_FALSE(parse_object("[]"));
  EXPECT_FALSE(parse_object("true"));
  EXPECT_FALSE(parse_object("\"hi\""));
}

TEST(ParseObject, EmptyContainers) {
  auto v = parse_object(R"({"a":{},"b":[]})");
  ASSERT_TRUE(v);
  ASSERT_NE(object_at(*v, "a"), nullptr);
  EXPECT_TRUE(object_at(*v, "a")->empty());
  ASSERT_NE(array_at(*v, "b"), nullptr);
  EXPECT_TRUE(array_at(*v, "b")->empty());
  EXPECT_EQ(object_at(*v, "b"), nullptr);
  EXPECT_EQ(array_at(*v, "a"), nullptr);
}

TEST(ParseObject, StringEscapes) {
  auto v = parse_object(R"({"s": "q\" b\\ s\/ n\n t\t r\r b\b f\f"})");
  ASSERT_TRUE(v);
  EXPECT_EQ(str(*v, "s"), "q\" b\\ s/ n\n t\t r\r b\b f\f");
}

TEST(ParseObject, UnicodeEscapesBecomeUtf8) {
  auto v = parse_object(R"({"s": "\u0041\u00e9\u20AC\u0000x"})");
  ASSERT_TRUE(v);
  EXPECT_EQ(str(*v, "s"), "A\xc3\xa9\xe2\x82\xac\0x"s);
}

TEST(ParseObject, Nesting) {
  auto v = parse_object(R"({"pool":{"workers":[{"id":1,"state":"ready"},{"id":2,"state":"booting"}]}})");
  ASSERT_TRUE(v);
  const boost::json::object* pool = object_at(*v, "pool");
  ASSERT_NE(pool, nullptr);
  const boost::json::array* workers = array_at(*pool, "workers");
  ASSERT_NE(workers, nullptr);
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ(num((*workers)[1].as_object(), "id"), 2);
  EXPECT_EQ(str((*workers)[1].as_object(), "state"), "booting");
}

TEST(ParseObject, MalformedIsNullopt) {
  for (std::string bad : {
           ""s, " "s, "{"s, "}"s, "["s, "]"s, "{\"a\"}"s, "{\"a\":}"s, "{\"a\" 1}"s, "{a:1}"s, "{\"a\":1,}"s,
           "{\"a\":1 \"b\":2}"s, "{\"a\":[1,]}"s, "{\"a\":[1 2]}"s, "{\"a\":\"abc}"s, "{\"a\":tru}"s,
           "{} x"s, "{\"a\":\"\\u12\"}"s, "{\"a\":-}"s, "{\"a\":1}}"s, "{'a':1}"s,
       }) {
    EXPECT_FALSE(parse_object(bad)) << bad;
  }
}

}  // namespace
}  // namespace hearth::control

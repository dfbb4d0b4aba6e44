#include "control/json_value.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::control {
namespace {

using namespace std::string_literals;
using Kind = JsonValue::Kind;

TEST(ParseJson, Scalars) {
  auto v = parse_json("true");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::Bool);
  EXPECT_TRUE(v->boolean);
  v = parse_json(" false ");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::Bool);
  EXPECT_FALSE(v->boolean);
  v = parse_json("null");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::Null);
  v = parse_json("-12.5e1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::Number);
  EXPECT_DOUBLE_EQ(v->number, -125.0);
  v = parse_json("\"hi\"");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::String);
  EXPECT_EQ(v->string, "hi");
}

TEST(ParseJson, Object) {
  auto v = parse_json(R"( { "ok" : true, "pid": 4242, "phase":"running", "none": null, "ratio": 0.25 } )");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::Object);
  EXPECT_EQ(v->object.size(), 5u);
  EXPECT_TRUE(v->flag("ok"));
  EXPECT_EQ(v->num("pid"), 4242);
  EXPECT_EQ(v->str("phase"), "running");
  EXPECT_DOUBLE_EQ(v->num("ratio"), 0.25);
  ASSERT_NE(v->get("none"), nullptr);
  EXPECT_EQ(v->get("none")->kind, Kind::Null);
  EXPECT_EQ(v->get("missing"), nullptr);
  // Defaults when missing or of another kind.
  EXPECT_EQ(v->num("phase", -1), -1);
  EXPECT_EQ(v->str("pid", "dflt"), "dflt");
  EXPECT_TRUE(v->flag("pid", true));
  EXPECT_EQ(v->num("missing", 7), 7);
}

TEST(ParseJson, EmptyContainers) {
  auto v = parse_json("{}");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::Object);
  EXPECT_TRUE(v->object.empty());
  v = parse_json("[ ]");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Kind::Array);
  EXPECT_TRUE(v->array.empty());
  v = parse_json(R"({"a":{},"b":[]})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->get("a")->kind, Kind::Object);
  EXPECT_EQ(v->get("b")->kind, Kind::Array);
}

TEST(ParseJson, Array) {
  auto v = parse_json(R"([1, "two", true, null, [3], {"four": 4}])");
  ASSERT_TRUE(v);
  ASSERT_EQ(v->kind, Kind::Array);
  ASSERT_EQ(v->array.size(), 6u);
  EXPECT_EQ(v->array[0].number, 1);
  EXPECT_EQ(v->array[1].string, "two");
  EXPECT_TRUE(v->array[2].boolean);
  EXPECT_EQ(v->array[3].kind, Kind::Null);
  ASSERT_EQ(v->array[4].array.size(), 1u);
  EXPECT_EQ(v->array[4].array[0].number, 3);
  EXPECT_EQ(v->array[5].num("four"), 4);
}

TEST(ParseJson, StringEscapes) {
  auto v = parse_json(R"("q\" b\\ s\/ n\n t\t r\r b\b f\f")");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->string, "q\" b\\ s/ n\n t\t r\r b\b f\f");
}

TEST(ParseJson, UnicodeEscapesBecomeUtf8) {
  auto v = parse_json(R"("\u0041\u00e9\u20AC\u0000x")");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->string, "A\xc3\xa9\xe2\x82\xac\0x"s);
}

TEST(ParseJson, Nesting) {
  auto v = parse_json(R"({"pool":{"workers":[{"id":1,"state":"ready"},{"id":2,"state":"booting"}]}})");
  ASSERT_TRUE(v);
  const JsonValue* pool = v->get("pool");
  ASSERT_NE(pool, nullptr);
  const JsonValue* workers = pool->get("workers");
  ASSERT_NE(workers, nullptr);
  ASSERT_EQ(workers->array.size(), 2u);
  EXPECT_EQ(workers->array[1].num("id"), 2);
  EXPECT_EQ(workers->array[1].str("state"), "booting");

  std::string deep(64, '[');
  deep += std::string(64, ']');
  EXPECT_TRUE(parse_json(deep));
  std::string too_deep(65, '[');
  too_deep += std::string(65, ']');
  EXPECT_FALSE(parse_json(too_deep));
}

TEST(ParseJson, DuplicateKeyLastWins) {
  auto v = parse_json(R"({"a":1,"a":2})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->num("a"), 2);
}

TEST(ParseJson, MalformedIsNullopt) {
  for (std::string bad : {
           ""s, " "s, "{"s, "}"s, "["s, "]"s, "{\"a\"}"s, "{\"a\":}"s, "{\"a\" 1}"s, "{a:1}"s, "{\"a\":1,}"s,
           "{\"a\":1 \"b\":2}"s, "[1,]"s, "[1 2]"s, "[,1]"s, "\"abc"s, "\"abc\\"s, "tru"s, "nul"s, "falsy"s,
           "{} x"s, "[1]]"s, "\"\\u12\""s, "-"s, "{\"a\":1}}"s, "'single'"s,
       }) {
    EXPECT_FALSE(parse_json(bad)) << bad;
  }
}

}  // namespace
}  // namespace hearth::control

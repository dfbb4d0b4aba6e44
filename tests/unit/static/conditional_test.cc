// ETags, HTTP dates and conditional request evaluation (static/conditional.h).
#include "static/conditional.h"

#include <gtest/gtest.h>

namespace hearth::statics {
namespace {

constexpr std::time_t k1994 = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(Etag, IsMtimeNanosAndSizeInHex) {
  EXPECT_EQ(make_etag(0x1234, 0xff), "\"1234-ff\"");
  EXPECT_NE(make_etag(1, 10), make_etag(2, 10));
  EXPECT_NE(make_etag(1, 10), make_etag(1, 11));
}

TEST(HttpDate, FormatsAndParsesAllThreeForms) {
  EXPECT_EQ(format_http_date(k1994), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), k1994);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), k1994);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), k1994);
  EXPECT_EQ(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT "), k1994);
  EXPECT_FALSE(parse_http_date(""));
  EXPECT_FALSE(parse_http_date("yesterday"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
}

TEST(EtagList, WeakAndStrongComparison) {
  EXPECT_TRUE(etag_list_matches("\"a\"", "\"a\"", true));
  EXPECT_TRUE(etag_list_matches("W/\"a\"", "\"a\"", true));
  EXPECT_FALSE(etag_list_matches("W/\"a\"", "\"a\"", false));
  EXPECT_TRUE(etag_list_matches("\"x\", \"y\" ,W/\"a\"", "\"a\"", true));
  EXPECT_FALSE(etag_list_matches("\"x\", \"y\"", "\"a\"", true));
  EXPECT_TRUE(etag_list_matches("*", "\"a\"", false));
  EXPECT_FALSE(etag_list_matches("a", "\"a\"", true));  // unquoted: not an entity-tag
  EXPECT_FALSE(etag_list_matches("\"a", "\"a\"", true));
}

TEST(Evaluate, IfNoneMatchWinsOverIfModifiedSince) {
  const std::string etag = "\"e\"";
  Conditionals c;
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::Proceed);
  c.if_none_match = "\"e\"";
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::NotModified);
  c.if_none_match = "\"other\"";
  c.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";  // would say 304 alone
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::Proceed);
  c.if_none_match = {};
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::NotModified);
  EXPECT_EQ(evaluate(c, etag, k1994 + 1), Precondition::Proceed);  // modified a second later
  c.if_modified_since = "garbage";
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::Proceed);
}

TEST(Evaluate, IfMatchAndIfUnmodifiedSinceFail412) {
  const std::string etag = "\"e\"";
  Conditionals c;
  c.if_match = "\"nope\"";
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::PreconditionFailed);
  c.if_match = "\"e\"";
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::Proceed);
  c.if_match = {};
  c.if_unmodified_since = "Sun, 06 Nov 1994 08:49:36 GMT";
  EXPECT_EQ(evaluate(c, etag, k1994), Precondition::PreconditionFailed);
}

TEST(IfRange, EtagStrongOrExactDate) {
  EXPECT_TRUE(if_range_allows("", "\"e\"", k1994));
  EXPECT_TRUE(if_range_allows("\"e\"", "\"e\"", k1994));
  EXPECT_FALSE(if_range_allows("\"f\"", "\"e\"", k1994));
  EXPECT_FALSE(if_range_allows("W/\"e\"", "\"e\"", k1994));
  EXPECT_TRUE(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", "\"e\"", k1994));
  EXPECT_FALSE(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", "\"e\"", k1994 + 5));
  EXPECT_FALSE(if_range_allows("junk", "\"e\"", k1994));
}

}  // namespace
}  // namespace hearth::statics

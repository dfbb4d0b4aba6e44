#include "frontdoor/compression_policy.h"

#include <gtest/gtest.h>

namespace hearth::frontdoor {
namespace {

using H = std::vector<http::Header>;

config::CompressionConfig cfg() {
  config::CompressionConfig c;
  c.enabled = true;
  return c;
}

std::string get(const H& h, std::string_view name) {
  std::string out;
  for (const auto& x : h) {
    if (x.name == name) out += (out.empty() ? "" : "|") + x.value;
  }
  return out;
}

TEST(CompressionNegotiate, QValuesAndConfiguredAlgorithms) {
  auto c = cfg();
  EXPECT_EQ(negotiate(c, "gzip, deflate, br"), Coding::Brotli);  // tie: brotli
  EXPECT_EQ(negotiate(c, "br;q=0.5, gzip"), Coding::Gzip);
  EXPECT_EQ(negotiate(c, "gzip;q=0, br;q=0"), Coding::Identity);
  EXPECT_EQ(negotiate(c, ""), Coding::Identity);
  EXPECT_EQ(negotiate(c, "identity"), Coding::Identity);
  EXPECT_EQ(negotiate(c, "*"), Coding::Brotli);
  EXPECT_EQ(negotiate(c, "*;q=0.1, gzip;q=0.2"), Coding::Gzip);
  c.algorithms = {"gzip"};
  EXPECT_EQ(negotiate(c, "br, gzip"), Coding::Gzip);
  EXPECT_EQ(negotiate(c, "br"), Coding::Identity);
}

TEST(CompressionPlan, CompressibleResponses) {
  auto c = cfg();
  auto p = plan(c, Coding::Gzip, 200, H{{"Content-Type", "text/html; charset=utf-8"}, {"Content-Length", "20000"}});
  EXPECT_EQ(p.kind, CompressPlan::Kind::Compress);
  EXPECT_EQ(p.coding, Coding::Gzip);
  // No Content-Length (streamed): compressed.
  EXPECT_EQ(plan(c, Coding::Brotli, 200, H{{"content-type", "application/json"}}).kind, CompressPlan::Kind::Compress);
  // An error page of the app is compressed too, as nginx does.
  EXPECT_EQ(plan(c, Coding::Brotli, 404, H{{"Content-Type", "text/html"}}).kind, CompressPlan::Kind::Compress);
  // The client accepts none: only Vary.
  EXPECT_EQ(plan(c, Coding::Identity, 200, H{{"Content-Type", "text/html"}}).kind, CompressPlan::Kind::VaryOnly);
}

TEST(CompressionPlan, NeverFor) {
  auto c = cfg();
  auto as_is = [&](int status, H h) { return plan(c, Coding::Gzip, status, h).kind == CompressPlan::Kind::AsIs; };
  EXPECT_TRUE(as_is(200, {{"Content-Type", "text/html"}, {"Content-Encoding", "gzip"}}));
  EXPECT_TRUE(as_is(200, {{"Content-Type", "text/html"}, {"Content-Encoding", "identity"}}));
  EXPECT_TRUE(as_is(206, {{"Content-Type", "text/html"}, {"Content-Range", "bytes 0-9/100"}}));
  EXPECT_TRUE(as_is(200, {{"Content-Type", "text/html"}, {"Content-Range", "bytes 0-9/100"}}));
  EXPECT_TRUE(as_is(200, {{"Content-Type", "text/html"}, {"Cache-Control", "public, No-Transform"}}));
  EXPECT_TRUE(as_is(200, {{"Content-Type", "text/html"}, {"Content-Length", "1023"}}));  // below min_size
  EXPECT_TRUE(as_is(200, {{"Content-Type", "image/png"}, {"Content-Length", "99999"}}));
  EXPECT_TRUE(as_is(200, {{"Content-Length", "99999"}}));  // no type
  EXPECT_TRUE(as_is(204, {{"Content-Type", "text/html"}}));
  EXPECT_TRUE(as_is(304, {{"Content-Type", "text/html"}}));
  EXPECT_TRUE(as_is(101, {{"Content-Type", "text/html"}}));
  EXPECT_FALSE(as_is(200, {{"Content-Type", "text/html"}, {"Content-Length", "1024"}}));  // exactly min_size
  EXPECT_FALSE(as_is(200, {{"Content-Type", "text/html"}, {"Cache-Control", "no-cache"}}));
}

TEST(CompressionPlan, TypeMatches) {
  std::vector<std::string> types{"text/*", "application/json", "image/svg+xml"};
  EXPECT_TRUE(type_matches("text/html", types));
  EXPECT_TRUE(type_matches("TEXT/CSS;charset=utf-8", types));
  EXPECT_TRUE(type_matches(" application/json ; charset=utf-8", types));
  EXPECT_TRUE(type_matches("image/svg+xml", types));
  EXPECT_FALSE(type_matches("application/jsonx", types));
  EXPECT_FALSE(type_matches("textual/html", types));
  EXPECT_FALSE(type_matches("text", types));
  EXPECT_FALSE(type_matches("", types));
}

TEST(CompressionApply, HeadersOfACompressedResponse) {
  H h{{"Content-Type", "text/html"}, {"Content-Length", "20000"}, {"ETag", "\"abc\""}, {"Vary", "Cookie"}};
  apply(h, Coding::Brotli, false);
  EXPECT_EQ(get(h, "Content-Length"), "");
  EXPECT_EQ(get(h, "Content-Encoding"), "br");
  EXPECT_EQ(get(h, "ETag"), "W/\"abc\"");
  EXPECT_EQ(get(h, "Vary"), "Cookie, Accept-Encoding");

  H weak{{"ETag", "W/\"x\""}, {"vary", "accept-encoding"}};
  apply(weak, Coding::Gzip, false);
  EXPECT_EQ(get(weak, "ETag"), "W/\"x\"");
  EXPECT_EQ(get(weak, "vary"), "accept-encoding");
  EXPECT_EQ(get(weak, "Vary"), "");  // not added twice
  EXPECT_EQ(get(weak, "Content-Encoding"), "gzip");

  H only{{"Content-Length", "5000"}, {"ETag", "\"e\""}};
  apply(only, Coding::Identity, true);
  EXPECT_EQ(get(only, "Vary"), "Accept-Encoding");
  EXPECT_EQ(get(only, "Content-Length"), "5000");
  EXPECT_EQ(get(only, "ETag"), "\"e\"");
  EXPECT_EQ(get(only, "Content-Encoding"), "");

  H star{{"Vary", "*"}};
  apply(star, Coding::Gzip, false);
  EXPECT_EQ(get(star, "Vary"), "*");
}

}  // namespace
}  // namespace hearth::frontdoor

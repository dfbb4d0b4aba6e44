// MIME types and Accept-Encoding negotiation (static/negotiation.h).
#include "static/negotiation.h"

#include <gtest/gtest.h>

namespace hearth::statics {
namespace {

TEST(Mime, CommonTypesTextWithCharset) {
  EXPECT_EQ(mime_type("a/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("site.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("data.json"), "application/json; charset=utf-8");
  EXPECT_EQ(mime_type("logo.svg"), "image/svg+xml; charset=utf-8");
  EXPECT_EQ(mime_type("logo.png"), "image/png");
  EXPECT_EQ(mime_type("f.woff2"), "font/woff2");
  EXPECT_EQ(mime_type("x.wasm"), "application/wasm");
  EXPECT_EQ(mime_type("README"), "application/octet-stream");
  EXPECT_EQ(mime_type(".bashrc"), "application/octet-stream");
  EXPECT_EQ(mime_type("dir.d/file"), "application/octet-stream");
  EXPECT_EQ(mime_type("x.unknownext"), "application/octet-stream");
}

TEST(AcceptEncoding, QValues) {
  EXPECT_EQ(accept_q("gzip, br", "br"), 1);
  EXPECT_EQ(accept_q("gzip;q=0.5, br;q=0.8", "gzip"), 0.5);
  EXPECT_EQ(accept_q("gzip;q=0", "gzip"), 0);
  EXPECT_EQ(accept_q("GZIP ; Q=0.3", "gzip"), 0.3);
  EXPECT_EQ(accept_q("x-gzip", "gzip"), 1);
  EXPECT_EQ(accept_q("*", "br"), 1);
  EXPECT_EQ(accept_q("*;q=0.2, br;q=0", "br"), 0);
  EXPECT_EQ(accept_q("*;q=0.2", "gzip"), 0.2);
  EXPECT_EQ(accept_q("", "gzip"), 0);
  EXPECT_EQ(accept_q("identity", "gzip"), 0);
  EXPECT_EQ(accept_q("gzip;q=2", "gzip"), 0);
  EXPECT_EQ(accept_q("gzip;q=abc", "gzip"), 0);
}

TEST(AcceptEncoding, ChoosesAnAcceptableExistingVariant) {
  EXPECT_EQ(choose_encoding("gzip, deflate, br", true, true), Encoding::Brotli);
  EXPECT_EQ(choose_encoding("gzip, deflate, br", false, true), Encoding::Gzip);
  EXPECT_EQ(choose_encoding("gzip, deflate", true, true), Encoding::Gzip);
  EXPECT_EQ(choose_encoding("br;q=0, gzip", true, true), Encoding::Gzip);
  EXPECT_EQ(choose_encoding("br;q=0.5, gzip", true, true), Encoding::Gzip);
  EXPECT_EQ(choose_encoding("br, gzip;q=0", false, true), Encoding::Identity);
  EXPECT_EQ(choose_encoding("", true, true), Encoding::Identity);
  EXPECT_EQ(choose_encoding("br", false, false), Encoding::Identity);
}

}  // namespace
}  // namespace hearth::statics

// Decoding, traversal checks and mount matching (static/url_path.h).
#include "static/url_path.h"

#include <gtest/gtest.h>

namespace hearth::statics {
namespace {

using V = RelativePath::Verdict;

TEST(PercentDecode, DecodesOnceAndRejectsBadEscapes) {
  EXPECT_EQ(*percent_decode("/a%20b"), "/a b");
  EXPECT_EQ(*percent_decode("%2e%2E"), "..");
  EXPECT_EQ(*percent_decode("%252e"), "%2e");  // once: %25 -> '%', not again
  EXPECT_EQ(*percent_decode("a+b"), "a+b");
  EXPECT_EQ(*percent_decode("%2f"), "/");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("a%4"));
  EXPECT_FALSE(percent_decode("%zz"));
  EXPECT_FALSE(percent_decode("a%00b"));
}

TEST(TargetPath, DropsTheQuery) {
  EXPECT_EQ(target_path("/a/b?x=1"), "/a/b");
  EXPECT_EQ(target_path("/a"), "/a");
  EXPECT_EQ(target_path("/a#f"), "/a");
  EXPECT_EQ(target_path("http://example.com/static/a.css?v=1"), "/static/a.css");
  EXPECT_EQ(target_path("https://example.com"), "/");
  EXPECT_EQ(target_path("http://example.com?x"), "/");
}

TEST(SplitRelative, NormalisesEmptyAndDotSegments) {
  RelativePath r = split_relative("css//./site.css", false);
  EXPECT_EQ(r.verdict, V::Ok);
  EXPECT_EQ(r.path, "css/site.css");
  EXPECT_FALSE(r.trailing_slash);
  r = split_relative("docs/", false);
  EXPECT_TRUE(r.trailing_slash);
  EXPECT_EQ(r.path, "docs");
  EXPECT_TRUE(split_relative("", false).path.empty());
}

TEST(SplitRelative, RefusesTraversalBackslashesAndControlBytes) {
  EXPECT_EQ(split_relative("../app.py", false).verdict, V::Traversal);
  EXPECT_EQ(split_relative("a/../../etc/passwd", true).verdict, V::Traversal);
  EXPECT_EQ(split_relative("a/..", false).verdict, V::Traversal);
  EXPECT_EQ(split_relative("..\\app.py", false).verdict, V::Malformed);
  EXPECT_EQ(split_relative("a\\b", false).verdict, V::Malformed);
  EXPECT_EQ(split_relative(std::string_view("a\nb"), false).verdict, V::Malformed);
  EXPECT_EQ(split_relative("a\x7f", false).verdict, V::Malformed);
  // "..." and "..x" are ordinary names (dotfiles).
  EXPECT_EQ(split_relative("...", true).verdict, V::Ok);
}

TEST(SplitRelative, DotfilesUnlessAllowed) {
  EXPECT_EQ(split_relative(".env", false).verdict, V::Dotfile);
  EXPECT_EQ(split_relative(".git/config", false).verdict, V::Dotfile);
  EXPECT_EQ(split_relative("a/.hidden/b", false).verdict, V::Dotfile);
  EXPECT_TRUE(split_relative(".env", false).path.empty());
  RelativePath r = split_relative(".well-known/x", true);
  EXPECT_EQ(r.verdict, V::Ok);
  EXPECT_EQ(r.path, ".well-known/x");
}

TEST(MatchMount, LongestPrefixWinsOnSegmentBoundaries) {
  std::vector<std::string> p{"/static/", "/static/img", "/media"};
  std::string_view rest;
  EXPECT_EQ(match_mount("/static/a.css", p, &rest), 0);
  EXPECT_EQ(rest, "a.css");
  EXPECT_EQ(match_mount("/static/img/x.png", p, &rest), 1);
  EXPECT_EQ(rest, "x.png");
  EXPECT_EQ(match_mount("/static/imgs/x.png", p, &rest), 0);
  EXPECT_EQ(rest, "imgs/x.png");
  EXPECT_EQ(match_mount("/static", p, &rest), 0);
  EXPECT_EQ(rest, "");
  EXPECT_EQ(match_mount("/staticx", p, &rest), -1);
  EXPECT_EQ(match_mount("/media/a", p, &rest), 2);
  EXPECT_EQ(match_mount("/", p, &rest), -1);
  std::vector<std::string> root{"/", "/api/"};
  EXPECT_EQ(match_mount("/index.html", root, &rest), 0);
  EXPECT_EQ(rest, "index.html");
  EXPECT_EQ(match_mount("/api/x", root, &rest), 1);
}

}  // namespace
}  // namespace hearth::statics

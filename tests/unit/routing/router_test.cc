// Host / prefix routing, the PEP 3333 split and table validation (routing/router.h).
#include "routing/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hearth::routing {
namespace {

using ::testing::HasSubstr;
using Miss = RouteMatch::Miss;

RouteSpec spec(std::string name, std::vector<std::string> hosts, std::string prefix, bool strip = false) {
  return RouteSpec{std::move(name), std::move(hosts), std::move(prefix), strip};
}

RouteTable make(std::vector<RouteSpec> specs) {
  auto r = RouteTable::build(std::move(specs));
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front());
  EXPECT_TRUE(r.table.has_value());
  return std::move(*r.table);
}

// The name of the entry serving (host, path), or "<miss>".
std::string route(const RouteTable& t, std::string_view host, std::string_view path) {
  const RouteMatch m = t.lookup(host, path);
  return m.found() ? m.entry->name : "<miss>";
}

std::vector<std::string> errors_of(std::vector<RouteSpec> specs) {
  auto r = RouteTable::build(std::move(specs));
  EXPECT_FALSE(r.table.has_value());
  return r.errors;
}

TEST(RouterPrecedence, ExactThenWildcardThenDefault) {
  const RouteTable t = make({spec("site", {}, ""), spec("wild", {"*.example.com"}, ""),
                             spec("api", {"api.example.com"}, "")});
  EXPECT_EQ(route(t, "api.example.com", "/x"), "api");
  EXPECT_EQ(route(t, "www.example.com", "/x"), "wild");
  EXPECT_EQ(route(t, "a.b.example.com", "/x"), "wild");   // any deeper name
  EXPECT_EQ(route(t, "example.com", "/x"), "site");       // the wildcard's own domain is not matched
  EXPECT_EQ(route(t, "other.org", "/x"), "site");
  EXPECT_EQ(route(t, "xexample.com", "/x"), "site");      // a suffix, not a label boundary
  EXPECT_EQ(t.lookup("api.example.com", "/").index, 2u);  // index = position in the specs
}

TEST(RouterPrecedence, LongestWildcardSuffixWins) {
  const RouteTable t = make({spec("short", {"*.example.com"}, ""), spec("long", {"*.eu.example.com"}, ""),
                             spec("tld", {"*.com"}, "")});
  EXPECT_EQ(route(t, "a.eu.example.com", "/"), "long");
  EXPECT_EQ(route(t, "x.a.eu.example.com", "/"), "long");
  EXPECT_EQ(route(t, "eu.example.com", "/"), "short");  // "*.eu.example.com" needs a label more
  EXPECT_EQ(route(t, "us.example.com", "/"), "short");
  EXPECT_EQ(route(t, "example.com", "/"), "tld");
  EXPECT_EQ(route(t, "example.org", "/"), "<miss>");
}

TEST(RouterPrefix, LongestPrefixWithinTheHost) {
  const RouteTable t = make({spec("root", {"h.test"}, "/"), spec("blog", {"h.test"}, "/blog"),
                             spec("admin", {"h.test"}, "/blog/admin/"), spec("other", {"o.test"}, "/blog")});
  EXPECT_EQ(route(t, "h.test", "/blog/admin/users"), "admin");
  EXPECT_EQ(route(t, "h.test", "/blog/admin"), "admin");
  EXPECT_EQ(route(t, "h.test", "/blog/adminx"), "blog");
  EXPECT_EQ(route(t, "h.test", "/blog/post/1"), "blog");
  EXPECT_EQ(route(t, "h.test", "/"), "root");
  EXPECT_EQ(route(t, "o.test", "/blog"), "other");
}

TEST(RouterPrefix, MatchesOnSegmentBoundaries) {
  const RouteTable t = make({spec("blog", {}, "/blog"), spec("slash", {}, "/docs/")});
  EXPECT_EQ(route(t, "", "/blog"), "blog");
  EXPECT_EQ(route(t, "", "/blog/"), "blog");
  EXPECT_EQ(route(t, "", "/blog/x"), "blog");
  EXPECT_EQ(route(t, "", "/blogger"), "<miss>");
  EXPECT_EQ(route(t, "", "/Blog"), "<miss>");  // paths are case-sensitive
  EXPECT_EQ(route(t, "", "/docs"), "slash");   // a trailing slash in the prefix changes nothing
  EXPECT_EQ(route(t, "", "/docsx"), "<miss>");
  EXPECT_EQ(route(t, "", "/"), "<miss>");
}

TEST(RouterHost, IgnoresCasePortAndTrailingDot) {
  const RouteTable t = make({spec("api", {"API.Example.com"}, ""), spec("wild", {"*.Example.COM."}, ""),
                             spec("v6", {"[::1]"}, "")});
  EXPECT_EQ(route(t, "api.example.com", "/"), "api");
  EXPECT_EQ(route(t, "API.EXAMPLE.COM", "/"), "api");
  EXPECT_EQ(route(t, "api.example.com:8443", "/"), "api");
  EXPECT_EQ(route(t, "api.example.com.", "/"), "api");
  EXPECT_EQ(route(t, "Api.Example.Com.:80", "/"), "api");
  EXPECT_EQ(route(t, "WWW.example.com:80", "/"), "wild");
  EXPECT_EQ(route(t, "www.example.com.", "/"), "wild");
  EXPECT_EQ(route(t, "[::1]:8080", "/"), "v6");
  EXPECT_EQ(route(t, "[::1]", "/"), "v6");
  EXPECT_EQ(route(t, "apix.example.org", "/"), "<miss>");
}

TEST(RouterHost, NormalizeHost) {
  EXPECT_EQ(normalize_host("Example.COM.:8080"), "Example.COM");
  EXPECT_EQ(normalize_host("a.b"), "a.b");
  EXPECT_EQ(normalize_host("[::1]:80"), "[::1]");
  EXPECT_EQ(normalize_host(":80"), "");
  EXPECT_EQ(normalize_host(""), "");
}

TEST(RouterHost, MissingHostGoesToTheDefault) {
  const RouteTable t = make({spec("api", {"api.example.com"}, ""), spec("site", {}, "")});
  EXPECT_EQ(route(t, "", "/anything"), "site");  // HTTP/1.0 without Host
  EXPECT_EQ(route(t, ":80", "/anything"), "site");
}

TEST(RouterFallback, HostGroupWithoutMatchingPrefixFallsBackToTheDefault) {
  const RouteTable t = make({spec("api", {"api.example.com"}, "/v1"), spec("wild", {"*.example.com"}, ""),
                             spec("site", {}, "")});
  EXPECT_EQ(route(t, "api.example.com", "/v1/users"), "api");
  // Not the wildcard group: only the chosen host group, then the default.
  EXPECT_EQ(route(t, "api.example.com", "/v2"), "site");
}

TEST(RouterSplit, ScriptNameAndPathInfo) {
  const RouteTable t = make({spec("blog", {}, "/blog/"), spec("root", {}, "/"), spec("deep", {}, "/a/b")});
  RouteMatch m = t.lookup("", "/blog/post/1");
  EXPECT_EQ(m.script_name, "/blog");
  EXPECT_EQ(m.path_info, "/post/1");
  m = t.lookup("", "/blog");  // the path equals the prefix
  EXPECT_EQ(m.script_name, "/blog");
  EXPECT_EQ(m.path_info, "");
  m = t.lookup("", "/blog/");
  EXPECT_EQ(m.script_name, "/blog");
  EXPECT_EQ(m.path_info, "/");
  m = t.lookup("", "/x/y");  // the "/" prefix mounts at the root
  EXPECT_EQ(m.entry->name, "root");
  EXPECT_EQ(m.script_name, "");
  EXPECT_EQ(m.path_info, "/x/y");
  m = t.lookup("", "/");
  EXPECT_EQ(m.script_name, "");
  EXPECT_EQ(m.path_info, "/");
  m = t.lookup("", "/a/b/c");
  EXPECT_EQ(m.script_name, "/a/b");
  EXPECT_EQ(m.path_info, "/c");
}

TEST(RouterSplit, ForwardPathWithAndWithoutStripPrefix) {
  const RouteTable t = make({spec("sock", {}, "/socket/", true), spec("keep", {}, "/keep", false),
                             spec("rootstrip", {"r.test"}, "", true)});
  RouteMatch m = t.lookup("", "/socket/chat");
  EXPECT_EQ(m.forward_path, "/chat");
  m = t.lookup("", "/socket");
  EXPECT_EQ(m.path_info, "");
  EXPECT_EQ(m.forward_path, "/");
  m = t.lookup("", "/keep/x");
  EXPECT_EQ(m.forward_path, "/keep/x");
  EXPECT_EQ(m.path_info, "/x");
  m = t.lookup("r.test", "/a");
  EXPECT_EQ(m.forward_path, "/a");
}

TEST(RouterMiss, NoDefaultMeansNoRoute) {
  const RouteTable t = make({spec("api", {"api.example.com"}, "/v1")});
  RouteMatch m = t.lookup("other.example.com", "/");
  EXPECT_FALSE(m.found());
  EXPECT_EQ(m.miss, Miss::UnknownHost);  // 421
  m = t.lookup("api.example.com", "/v2");
  EXPECT_FALSE(m.found());
  EXPECT_EQ(m.miss, Miss::NoPrefix);  // 404
  m = t.lookup("", "/v1");
  EXPECT_FALSE(m.found());
  EXPECT_EQ(m.miss, Miss::UnknownHost);  // no Host and no default: 404 (header comment)
  EXPECT_EQ(t.lookup("api.example.com", "/v1").miss, Miss::None);
}

TEST(RouterMiss, EmptyTableRoutesNothing) {
  const RouteTable t = make({});
  EXPECT_EQ(t.lookup("a.test", "/").miss, Miss::UnknownHost);
}

TEST(RouterValidation, DuplicateNames) {
  auto e = errors_of({spec("app", {"a.test"}, ""), spec("app", {"b.test"}, "")});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_THAT(e[0], HasSubstr("duplicate name \"app\""));
  EXPECT_THAT(e[0], HasSubstr("#1 and #2"));
  EXPECT_THAT(errors_of({spec("", {}, "")}).at(0), HasSubstr("entry #1 has no name"));
}

TEST(RouterValidation, SameHostAndPrefix) {
  auto e = errors_of({spec("one", {"A.test"}, "/x/"), spec("two", {"a.test."}, "/x")});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_THAT(e[0], HasSubstr("\"one\" and \"two\""));
  EXPECT_THAT(e[0], HasSubstr("host \"a.test\""));
  // Two defaults: no hosts, prefix "" and "/".
  e = errors_of({spec("d1", {}, ""), spec("d2", {}, "/")});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_THAT(e[0], HasSubstr("\"d1\" and \"d2\" both route no host"));
  e = errors_of({spec("w1", {"*.a.test"}, ""), spec("w2", {"*.A.test"}, "")});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_THAT(e[0], HasSubstr("host \"*.a.test\""));
  e = errors_of({spec("twice", {"a.test", "A.TEST"}, "")});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_THAT(e[0], HasSubstr("entry \"twice\" lists host"));
  // The same host with different prefixes, or exact vs wildcard, is fine.
  make({spec("p1", {"a.test"}, "/x"), spec("p2", {"a.test"}, "/y"), spec("p3", {"*.a.test"}, "/x")});
}

TEST(RouterValidation, MalformedWildcards) {
  for (const char* bad : {"*", "*.", "*example.com", "a.*.com", "**.example.com", "*.*.example.com",
                          "example.*", "*..com"}) {
    auto e = errors_of({spec("w", {bad}, "")});
    ASSERT_EQ(e.size(), 1u) << bad;
    EXPECT_THAT(e[0], HasSubstr("entry \"w\": malformed wildcard host")) << bad;
  }
}

TEST(RouterValidation, BadHosts) {
  EXPECT_THAT(errors_of({spec("e", {""}, "")}).at(0), HasSubstr("entry \"e\": empty host"));
  EXPECT_THAT(errors_of({spec("p", {"a.test:80"}, "")}).at(0), HasSubstr("a port"));
  EXPECT_THAT(errors_of({spec("l", {"a..test"}, "")}).at(0), HasSubstr("an empty label"));
  EXPECT_THAT(errors_of({spec("c", {"a/b"}, "")}).at(0), HasSubstr("not allowed"));
}

TEST(RouterValidation, BadPrefixes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"blog", "does not start with '/'"}, {"/a?b", "'?'"}, {"/a#b", "'?', '#' or '%'"},
      {"/a%20b", "'%'"}, {"/a/../b", "'..' segment"}, {"/..", "'..' segment"}, {"/a//b", "empty segment"},
      {"/./a", "'.' segment"}};
  for (const auto& [prefix, why] : cases) {
    auto e = errors_of({spec("x", {}, prefix)});
    ASSERT_EQ(e.size(), 1u) << prefix;
    EXPECT_THAT(e[0], HasSubstr("entry \"x\": prefix \"" + prefix + "\"")) << prefix;
    EXPECT_THAT(e[0], HasSubstr(why)) << prefix;
  }
}

TEST(RouterValidation, ReportsEveryErrorAtOnce) {
  auto e = errors_of({spec("a", {"*x.test"}, "nope"), spec("a", {""}, "/ok")});
  EXPECT_EQ(e.size(), 4u);  // wildcard, prefix, duplicate name, empty host
}

}  // namespace
}  // namespace hearth::routing

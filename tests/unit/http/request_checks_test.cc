#include "http/request_checks.h"

#include <gtest/gtest.h>

namespace hearth::http {
namespace {

TEST(RequestChecks, FieldValue) {
  EXPECT_TRUE(is_valid_field_value("text/html; q=0.9"));
  EXPECT_TRUE(is_valid_field_value("a\tb"));
  EXPECT_TRUE(is_valid_field_value("caf\xc3\xa9"));  // obs-text
  EXPECT_FALSE(is_valid_field_value(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_valid_field_value("a\rb"));
  EXPECT_FALSE(is_valid_field_value("a\nb"));
  EXPECT_FALSE(is_valid_field_value("a\x7f"));
  EXPECT_FALSE(is_valid_field_value("\x01"));
}

TEST(RequestChecks, Token) {
  EXPECT_TRUE(is_token("GET"));
  EXPECT_TRUE(is_token("X-Custom_1!"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("G T"));
  EXPECT_FALSE(is_token("G(T"));
  EXPECT_FALSE(is_token("a:b"));
}

TEST(RequestChecks, Target) {
  EXPECT_TRUE(is_valid_target("GET", "/"));
  EXPECT_TRUE(is_valid_target("GET", "/a%20b?x=1"));
  EXPECT_TRUE(is_valid_target("GET", "http://host/path"));
  EXPECT_TRUE(is_valid_target("GET", "HTTPS://host"));
  EXPECT_TRUE(is_valid_target("OPTIONS", "*"));
  EXPECT_FALSE(is_valid_target("GET", "*"));
  EXPECT_FALSE(is_valid_target("GET", ""));
  EXPECT_FALSE(is_valid_target("GET", "foo"));
  EXPECT_FALSE(is_valid_target("GET", "http://"));
  EXPECT_FALSE(is_valid_target("GET", "http:///path"));
  EXPECT_FALSE(is_valid_target("CONNECT", "host:443"));
}

TEST(RequestChecks, AbsoluteFormAuthorityIsAHost) {
  EXPECT_TRUE(is_valid_target("GET", "http://h.example:8080/p"));
  EXPECT_TRUE(is_valid_target("GET", "http://[::1]:8080/p"));
  EXPECT_TRUE(is_valid_target("GET", "http://h?q"));
  EXPECT_FALSE(is_valid_target("GET", "http://u@h/p"));        // userinfo
  EXPECT_FALSE(is_valid_target("GET", "http://u:pw@h/p"));
  EXPECT_FALSE(is_valid_target("GET", "http://h:80x/p"));
  EXPECT_FALSE(is_valid_target("GET", "http://h\\x/p"));
  EXPECT_EQ(absolute_form_authority("http://a:1/p?q"), "a:1");
  EXPECT_EQ(absolute_form_authority("HTTPS://a?q"), "a");
  EXPECT_EQ(absolute_form_authority("http://a"), "a");
  EXPECT_EQ(absolute_form_authority("/p"), "");
  EXPECT_EQ(absolute_form_authority("*"), "");
}

TEST(RequestChecks, Host) {
  for (const char* ok : {"", "h", "example.com", "example.com:8080", "EXAMPLE.com:", "127.0.0.1", "127.0.0.1:1",
                         "[::1]", "[::1]:443", "[2001:db8::1]", "xn--bcher-kva.example", "a_b.example", "%41b",
                         "a-b~c!$&'()*+,;=d"}) {
    EXPECT_TRUE(is_valid_host(ok)) << ok;
  }
  for (const char* bad : {"a/b@c", "u@h", "h/p", "h?q", "h#f", "h h", "h\\x", ":80", "h:80x", "h:123456", "h:1:2",
                          "::1", "[::1", "[]", "[::g]", "[::1]x", "[::1]:x", "%4", "%zz", "h\x7f", "h\xc3\xa9"}) {
    EXPECT_FALSE(is_valid_host(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_host(std::string(300, 'a')));
}

// The table lookup per host byte against the byte-wise rule it replaced (RFC 3986
// reg-name: ALPHA / DIGIT / unreserved / sub-delims / pct-encoded), for every byte value.
TEST(RequestChecks, HostBytesAgreeWithTheByteWiseRule) {
  auto reference = [](unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("-._~!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos;
  };
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    EXPECT_EQ(is_valid_host(std::string("a") + ch + "b"), reference(static_cast<unsigned char>(c))) << c;
    EXPECT_EQ(is_valid_host(std::string("ab") + ch), reference(static_cast<unsigned char>(c)) || c == ':') << c;
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    EXPECT_EQ(is_valid_host(std::string("a%4") + ch + "b"), hex) << c;
  }
}

TEST(RequestChecks, PlainChunked) {
  EXPECT_TRUE(is_plain_chunked("chunked"));
  EXPECT_TRUE(is_plain_chunked("CHUNKED"));
  EXPECT_TRUE(is_plain_chunked(" chunked "));
  EXPECT_FALSE(is_plain_chunked("gzip"));
  EXPECT_FALSE(is_plain_chunked("gzip, chunked"));
  EXPECT_FALSE(is_plain_chunked("chunked, gzip"));
  EXPECT_FALSE(is_plain_chunked("chunked, chunked"));
  EXPECT_FALSE(is_plain_chunked("xchunked"));
  EXPECT_FALSE(is_plain_chunked(""));
}

TEST(RequestChecks, ContentLength) {
  EXPECT_EQ(parse_content_length("0"), 0u);
  EXPECT_EQ(parse_content_length(" 42 "), 42u);
  EXPECT_EQ(parse_content_length("18446744073709551"), 18446744073709551u);
  EXPECT_FALSE(parse_content_length(""));
  EXPECT_FALSE(parse_content_length("-1"));
  EXPECT_FALSE(parse_content_length("+1"));
  EXPECT_FALSE(parse_content_length("1,1"));
  EXPECT_FALSE(parse_content_length("0x10"));
  EXPECT_FALSE(parse_content_length("99999999999999999999"));
}

TEST(RequestChecks, IequalsAndTrim) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_EQ(trim_ows(" \t x y \t"), "x y");
  EXPECT_EQ(trim_ows("   "), "");
}

TEST(RequestChecks, IequalsMatchesTheBytewiseRule) {
  // The word-at-a-time comparison against the rule written out byte by byte:
  // every byte pair at every position of strings of length 1..24 (so in the
  // short loop, in full words and in the overlapping tail word).
  auto reference = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
      if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
      if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
      if (x != y) return false;
    }
    return true;
  };
  const std::string base = "Content-Length-X-Forward";
  int mismatches = 0, equal = 0;
  for (std::size_t n = 1; n <= base.size(); ++n) {
    for (std::size_t pos = 0; pos < n; ++pos) {
      for (int x = 0; x < 256; ++x) {
        for (int y : std::initializer_list<int>{x, x ^ 0x20, x ^ 0x01, x ^ 0x60, 'a', 'A', '@', '[', '`', '{', 0x80 | 'a', 0xc1}) {
          std::string a = base.substr(0, n), b = a;
          a[pos] = static_cast<char>(x);
          b[pos] = static_cast<char>(y & 0xff);
          const bool want = reference(a, b);
          if (iequals(a, b) != want || iequals(b, a) != want) ++mismatches;
          equal += want;
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(equal, 0);
  // Case differences in several words at once, and a difference in the last byte only.
  EXPECT_TRUE(iequals("X-FORWARDED-PREFIX", "x-forwarded-prefix"));
  EXPECT_FALSE(iequals("x-forwarded-prefix", "x-forwarded-prefiy"));
  EXPECT_FALSE(iequals("content-length", "content-lengt\x0d"));
  EXPECT_TRUE(iequals("", ""));
}

TEST(RequestChecks, EveryByteClassifiedAsRfc9110Says) {
  // The lookup table against the rules written out: tchar (5.6.2) and
  // field-value bytes (5.5: HTAB, SP, VCHAR, obs-text).
  const std::string_view tchar_punct = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const std::string one(1, ch);
    const bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       (c != 0 && tchar_punct.find(ch) != std::string_view::npos);
    EXPECT_EQ(is_token(one), tchar) << c;
    EXPECT_EQ(is_token("ab" + one + "cd"), tchar) << c;
    const bool field = c == '\t' || (c >= 0x20 && c != 0x7f);
    EXPECT_EQ(is_valid_field_value(one), field) << c;
    EXPECT_EQ(is_valid_field_value("v " + one + " w"), field) << c;
  }
  EXPECT_FALSE(is_token(""));
  EXPECT_TRUE(is_valid_field_value(""));
}

}  // namespace
}  // namespace hearth::http

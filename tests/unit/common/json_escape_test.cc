#include "common/json_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::json {
namespace {

TEST(JsonEscape, QuotesBackslashesAndControls) {
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped("\n\r\t\b\f"), "\\n\\r\\t\\b\\f");
  EXPECT_EQ(escaped(std::string("\x00\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\\u007f");
  EXPECT_EQ(escaped("plain ascii ~"), "plain ascii ~");
  EXPECT_EQ(escaped(""), "");
}

TEST(JsonEscape, WellFormedUtf8IsKept) {
  EXPECT_EQ(escaped("caf\xc3\xa9"), "caf\xc3\xa9");                 // U+00E9
  EXPECT_EQ(escaped("\xe2\x82\xac"), "\xe2\x82\xac");               // U+20AC
  EXPECT_EQ(escaped("\xef\xbf\xbd"), "\xef\xbf\xbd");               // U+FFFD
  EXPECT_EQ(escaped("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");       // U+1F600
  EXPECT_EQ(escaped("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");       // U+10FFFF
  EXPECT_EQ(escaped("\xed\x9f\xbf"), "\xed\x9f\xbf");               // U+D7FF
  EXPECT_EQ(escaped("\xc2\x80\"\xc2\x80"), "\xc2\x80\\\"\xc2\x80");  // escapes between sequences
}

TEST(JsonEscape, InvalidUtf8BytesAreEscapedOneByOne) {
  EXPECT_EQ(escaped("\xe9"), "\\u00e9");                           // Latin-1 é
  EXPECT_EQ(escaped("\x80"), "\\u0080");                           // stray continuation
  EXPECT_EQ(escaped("\xc3"), "\\u00c3");                           // truncated at the end
  EXPECT_EQ(escaped("\xc3" "A"), "\\u00c3A");                      // truncated before ASCII
  EXPECT_EQ(escaped("\xc0\xaf"), "\\u00c0\\u00af");                // overlong '/'
  EXPECT_EQ(escaped("\xe0\x80\xaf"), "\\u00e0\\u0080\\u00af");     // overlong, 3 bytes
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080");     // surrogate U+D800
  EXPECT_EQ(escaped("\xf0\x80\x80\xaf"), "\\u00f0\\u0080\\u0080\\u00af");
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\u00f4\\u0090\\u0080\\u0080");  // above U+10FFFF
  EXPECT_EQ(escaped("\xff\xfe"), "\\u00ff\\u00fe");
  EXPECT_EQ(escaped("\xe2\x82" "x"), "\\u00e2\\u0082x");           // truncated 3-byte
}

// Whatever the bytes, the result is printable ASCII or well-formed UTF-8 with
// no raw quote, backslash or control byte: a valid JSON string body.
TEST(JsonEscape, EveryTwoByteInputGivesAValidJsonStringBody) {
  int bad = 0;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char in[2] = {static_cast<char>(a), static_cast<char>(b)};
      const std::string out = escaped(std::string_view(in, 2));
      // Re-escaping well-formed output changes only '\\' (doubled) and never
      // re-escapes a byte >= 0x80: so all high bytes survived as valid UTF-8.
      for (std::size_t i = 0; i < out.size(); ++i) {
        const unsigned char u = static_cast<unsigned char>(out[i]);
        if (u < 0x20 || u == 0x7f) ++bad;
        if (u == '"' && (i == 0 || out[i - 1] != '\\')) ++bad;
      }
      const std::string twice = escaped(out);
      std::size_t backslashes = 0, quotes = 0;
      for (char c : out) backslashes += c == '\\', quotes += c == '"';
      if (twice.size() != out.size() + backslashes + quotes) ++bad;
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(JsonEscape, AppendQuotedWrapsInQuotes) {
  std::string out = "x=";
  append_quoted(out, "a\xc3\xa9\xe9");
  EXPECT_EQ(out, "x=\"a\xc3\xa9\\u00e9\"");
}

}  // namespace
}  // namespace hearth::json

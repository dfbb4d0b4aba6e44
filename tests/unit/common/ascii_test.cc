#include "common/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::ascii {
namespace {

TEST(Ascii, IequalsComparesLettersCaseInsensitively) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_FALSE(iequals("x-forwarded-prefix", "x-forwarded-prefiy"));
  // Bit 5 differs but the bytes are not letters: '@' vs '`', '[' vs '{'.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[[[[[[[[[", "{{{{{{{{{"));
}

// Both forms agree with a plain reference on every pair of bytes, at lengths
// that take the short loop, whole words and an overlapping tail.
TEST(Ascii, IequalsAndIequalsInlineAgreeWithReference) {
  auto reference = [](unsigned char x, unsigned char y) {
    auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c; };
    return lower(x) == lower(y);
  };
  int mismatches = 0;
  for (std::size_t len : {1u, 7u, 8u, 13u}) {
    for (int x = 0; x < 256; ++x) {
      for (int y = 0; y < 256; ++y) {
        std::string a(len, 'k'), b(len, 'K');
        a[len - 1] = static_cast<char>(x);
        b[len - 1] = static_cast<char>(y);
        const bool want = reference(static_cast<unsigned char>(x), static_cast<unsigned char>(y));
        if (iequals(a, b) != want || iequals_inline(a, b) != want) ++mismatches;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace hearth::ascii

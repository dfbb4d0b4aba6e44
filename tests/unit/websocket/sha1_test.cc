// SHA-1 against FIPS 180 / RFC 3174 test vectors, base64 against RFC 4648
// section 10: the handshake's Sec-WebSocket-Accept needs no libcrypto.
#include "websocket/sha1.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace hearth::websocket {
namespace {

std::string hex(const Sha1Digest& d) {
  std::string out;
  char b[3];
  for (auto byte : d) {
    std::snprintf(b, sizeof b, "%02x", byte);
    out += b;
  }
  return out;
}

std::string b64(std::string_view s) {
  return base64_encode(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

TEST(Sha1, Fips180Vectors) {
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(hex(sha1("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopq"
                     "rsmnopqrstnopqrstu")),
            "a49b2446a02c645bf419f995b67091253a04a259");
  EXPECT_EQ(hex(sha1(std::string(1000000, 'a'))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1, EveryPaddingBoundary) {
  // Lengths around the 55/56/64-byte edges, where the padding needs one or two blocks.
  const std::pair<std::size_t, const char*> cases[] = {
      {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
      {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
      {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
      {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
  };
  for (const auto& [n, want] : cases) EXPECT_EQ(hex(sha1(std::string(n, 'a'))), want) << n;
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foob"), "Zm9vYg==");
  EXPECT_EQ(b64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  const std::uint8_t high[] = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(base64_encode(high, 3), "+//+");
}

}  // namespace
}  // namespace hearth::websocket

#include "frontdoor/compressor.h"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace hearth::frontdoor {
namespace {

std::string gunzip(const std::string& in, bool* complete) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_SYNC_FLUSH);
  *complete = rc == Z_STREAM_END;
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

std::string unbrotli(const std::string& in, bool* complete) {
  auto* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  std::string out(1 << 20, '\0');
  size_t avail_in = in.size(), avail_out = out.size();
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  uint8_t* next_out = reinterpret_cast<uint8_t*>(out.data());
  auto rc = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, nullptr);
  *complete = rc == BROTLI_DECODER_RESULT_SUCCESS;
  out.resize(out.size() - avail_out);
  BrotliDecoderDestroyInstance(s);
  return out;
}

std::string page() {
  std::string html = "<!doctype html><html><body>";
  for (int i = 0; i < 400; ++i) html += "<p class=\"row\">Item " + std::to_string(i) + " of the list</p>\n";
  return html + "</body></html>";
}

class CompressorTest : public ::testing::TestWithParam<Coding> {
 protected:
  std::string decode(const std::string& in, bool* complete) {
    return GetParam() == Coding::Gzip ? gunzip(in, complete) : unbrotli(in, complete);
  }
};

TEST_P(CompressorTest, RoundTripAndSmaller) {
  auto c = Compressor::make(GetParam(), 4);
  ASSERT_TRUE(c);
  std::string in = page(), out;
  ASSERT_TRUE(c->write(in, out));
  ASSERT_TRUE(c->finish(out));
  EXPECT_LT(out.size(), in.size() / 5);
  bool complete = false;
  EXPECT_EQ(decode(out, &complete), in);
  EXPECT_TRUE(complete);
}

TEST_P(CompressorTest, EachWriteIsFlushed) {
  // What a client has received after each chunk decodes to everything sent so far.
  auto c = Compressor::make(GetParam(), 6);
  ASSERT_TRUE(c);
  std::string wire, sent;
  for (std::string chunk : {"data: one\n\n", "data: two\n\n", "data: three\n\n"}) {
    ASSERT_TRUE(c->write(chunk, wire));
    sent += chunk;
    bool complete = true;
    EXPECT_EQ(decode(wire, &complete), sent);
    EXPECT_FALSE(complete);
  }
  ASSERT_TRUE(c->finish(wire));
  bool complete = false;
  EXPECT_EQ(decode(wire, &complete), sent);
  EXPECT_TRUE(complete);
}

TEST_P(CompressorTest, IncompressibleAndEmptyBodies) {
  std::mt19937 rng(7);
  std::string noise(200000, '\0');
  for (auto& ch : noise) ch = static_cast<char>(rng());
  for (const std::string& in : {noise, std::string()}) {
    for (int level : {1, 9, 11}) {
      auto c = Compressor::make(GetParam(), level);
      ASSERT_TRUE(c);
      std::string out;
      ASSERT_TRUE(c->write(in, out));
      ASSERT_TRUE(c->finish(out));
      bool complete = false;
      EXPECT_EQ(decode(out, &complete), in) << level;
      EXPECT_TRUE(complete);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Codings, CompressorTest, ::testing::Values(Coding::Gzip, Coding::Brotli),
                         [](const auto& info) { return std::string(coding_name(info.param)); });

}  // namespace
}  // namespace hearth::frontdoor

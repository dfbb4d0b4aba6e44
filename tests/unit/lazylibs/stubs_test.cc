// lazylibs/*_stubs.cc in an executable that, like hearthd, links none of
// zlib, brotli and nghttp2: nothing is mapped until the first call, which
// loads the library; the calls reach the real functions; nothing is exported.
#include <brotli/encode.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include <string>

#include "../common/self_maps.h"
#include "lazylibs/libraries.h"

namespace hearth::lazylibs {
namespace {

using hearth::testing::mapped;

// First in this file: ctest runs each test in its own process.
TEST(LazyLibsStubs, NothingIsMappedUntilTheFirstCall) {
  ASSERT_TRUE(zlib().is_lazy());
  EXPECT_FALSE(zlib().loaded());
  EXPECT_FALSE(brotli().loaded());
  EXPECT_FALSE(nghttp2().loaded());
  EXPECT_FALSE(mapped("libz.so"));
  EXPECT_FALSE(mapped("libbrotlienc.so"));
  EXPECT_FALSE(mapped("libnghttp2.so"));
  EXPECT_NE(nghttp2_strerror(NGHTTP2_ERR_CALLBACK_FAILURE), nullptr);  // a stub: loads on first use
  EXPECT_TRUE(nghttp2().loaded());
  EXPECT_TRUE(mapped("libnghttp2.so"));
  EXPECT_FALSE(mapped("libz.so"));
}

TEST(LazyLibsStubs, GzipThroughTheStubs) {
  std::string error;
  ASSERT_TRUE(zlib().load(error)) << error;
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);  // deflateInit2_
  std::string in(4096, 'a');
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  EXPECT_EQ(deflateEnd(&z), Z_OK);
  ASSERT_GT(out.size(), 10u);
  EXPECT_LT(out.size(), 100u);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x1f);  // the gzip magic
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x8b);
}

TEST(LazyLibsStubs, BrotliThroughTheStubs) {
  BrotliEncoderState* s = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(brotli().loaded());
  EXPECT_TRUE(BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, 4));
  std::string in(4096, 'b');
  size_t avail_in = in.size();
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  size_t avail_out = 0;
  std::string out;
  while (!BrotliEncoderIsFinished(s)) {
    ASSERT_TRUE(BrotliEncoderCompressStream(s, BROTLI_OPERATION_FINISH, &avail_in, &next_in, &avail_out, nullptr,
                                            nullptr));
    size_t n = 0;
    const uint8_t* p = BrotliEncoderTakeOutput(s, &n);
    out.append(reinterpret_cast<const char*>(p), n);
  }
  EXPECT_FALSE(BrotliEncoderHasMoreOutput(s));
  BrotliEncoderDestroyInstance(s);
  EXPECT_GT(out.size(), 0u);
  EXPECT_LT(out.size(), 100u);
}

TEST(LazyLibsStubs, TheExecutableDefinesThemAndDoesNotExportThem) {
  Dl_info info{};
  ASSERT_NE(::dladdr(reinterpret_cast<void*>(&deflate), &info), 0);
  EXPECT_EQ(std::string(info.dli_fname).find("libz"), std::string::npos) << info.dli_fname;
  std::string error;
  ASSERT_TRUE(zlib().load(error)) << error;
  ASSERT_TRUE(nghttp2().load(error)) << error;
  void* self = ::dlopen(nullptr, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(::dlsym(self, "deflate"), nullptr);  // libz is RTLD_LOCAL, the stub hidden
  EXPECT_EQ(::dlsym(self, "nghttp2_session_send"), nullptr);
  EXPECT_EQ(::dlsym(self, "BrotliEncoderCompressStream"), nullptr);
}

TEST(LazyLibsStubs, Nghttp2Usable) {
  EXPECT_TRUE(nghttp2_usable());
  EXPECT_TRUE(nghttp2().loaded());
}

}  // namespace
}  // namespace hearth::lazylibs

#include "lazylibs/compression_libraries.h"

#include <gtest/gtest.h>

#include "lazylibs/libraries.h"

namespace hearth::lazylibs {
namespace {

TEST(CompressionLibraries, NoneWhenDisabled) {
  config::CompressionConfig c;  // enabled = false, algorithms = br, gzip
  auto n = compression_libraries(c);
  EXPECT_FALSE(n.zlib);
  EXPECT_FALSE(n.brotli);
  EXPECT_EQ(load_compression_libraries(c), "");
}

TEST(CompressionLibraries, BothByDefault) {
  config::CompressionConfig c;
  c.enabled = true;
  auto n = compression_libraries(c);
  EXPECT_TRUE(n.zlib);
  EXPECT_TRUE(n.brotli);
}

TEST(CompressionLibraries, OnlyWhatAlgorithmsLists) {
  config::CompressionConfig c;
  c.enabled = true;
  c.algorithms = {"gzip"};
  auto n = compression_libraries(c);
  EXPECT_TRUE(n.zlib);
  EXPECT_FALSE(n.brotli);
  c.algorithms = {"br"};
  n = compression_libraries(c);
  EXPECT_FALSE(n.zlib);
  EXPECT_TRUE(n.brotli);
}

TEST(CompressionLibraries, LoadsThemHere) {
  config::CompressionConfig c;
  c.enabled = true;
  EXPECT_EQ(load_compression_libraries(c), "");  // this machine has libz and libbrotlienc
  EXPECT_TRUE(zlib().loaded());
  EXPECT_TRUE(brotli().loaded());
}

}  // namespace
}  // namespace hearth::lazylibs

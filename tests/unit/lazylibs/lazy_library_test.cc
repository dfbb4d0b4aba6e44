// common/lazy_library.h: the generic loader, with specs of its own (no stubs).
#include "common/lazy_library.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

namespace hearth::lazy {
namespace {

constexpr const char* kZlibNames[] = {"deflate", "zlibVersion"};

std::vector<void*> g_installed;
void remember(void* const* functions) { g_installed.assign(functions, functions + std::size(kZlibNames)); }

TEST(LazyLibrary, ResolvesEveryNameInOrder) {
  const LibrarySpec spec{"libz.so.1", "gzip compression", kZlibNames, std::size(kZlibNames), nullptr};
  std::vector<void*> f;
  std::string error;
  ASSERT_TRUE(resolve_library(spec, f, error)) << error;
  ASSERT_EQ(f.size(), 2u);
  auto version = reinterpret_cast<const char* (*)()>(f[1]);
  EXPECT_EQ(version()[0], '1');  // "1.2.13"
  EXPECT_NE(f[0], nullptr);
}

TEST(LazyLibrary, AMissingLibraryIsAClearError) {
  const LibrarySpec spec{"libhearth-no-such.so.9", "HTTP/2", kZlibNames, std::size(kZlibNames), &remember};
  std::vector<void*> f;
  std::string error;
  EXPECT_FALSE(resolve_library(spec, f, error));
  EXPECT_EQ(error.rfind("HTTP/2 needs libhearth-no-such.so.9: ", 0), 0u) << error;
  EXPECT_NE(error.find("cannot open shared object file"), std::string::npos) << error;

  Library lib(spec);
  std::string e1, e2;
  EXPECT_FALSE(lib.load(e1));
  EXPECT_FALSE(lib.load(e2));  // once: the same outcome
  EXPECT_EQ(e1, e2);
  EXPECT_FALSE(lib.loaded());
  EXPECT_TRUE(lib.is_lazy());
}

TEST(LazyLibrary, AMissingFunctionIsAClearError) {
  constexpr const char* kNames[] = {"deflate", "hearth_no_such_function"};
  const LibrarySpec spec{"libz.so.1", "gzip compression", kNames, std::size(kNames), &remember};
  std::vector<void*> f;
  std::string error;
  EXPECT_FALSE(resolve_library(spec, f, error));
  EXPECT_EQ(error, "gzip compression needs libz.so.1: it has no function hearth_no_such_function (another version?)");
  EXPECT_EQ(f, std::vector<void*>(2, nullptr));
}

TEST(LazyLibrary, LoadInstallsOnce) {
  const LibrarySpec spec{"libz.so.1", "gzip compression", kZlibNames, std::size(kZlibNames), &remember};
  Library lib(spec);
  EXPECT_FALSE(lib.loaded());
  std::string error;
  ASSERT_TRUE(lib.load(error)) << error;
  EXPECT_TRUE(lib.loaded());
  ASSERT_EQ(g_installed.size(), 2u);
  EXPECT_EQ(lib.function_or_abort(1), g_installed[1]);
  g_installed.clear();
  ASSERT_TRUE(lib.load(error));
  EXPECT_TRUE(g_installed.empty());  // not installed again
}

TEST(LazyLibrary, ADirectLinkHasNothingToLoad) {
  const LibrarySpec spec{"libhearth-no-such.so.9", "HTTP/2", kZlibNames, std::size(kZlibNames), nullptr};
  Library lib(spec);
  EXPECT_FALSE(lib.is_lazy());
  EXPECT_TRUE(lib.loaded());
  std::string error;
  EXPECT_TRUE(lib.load(error));
}

TEST(LazyLibraryDeathTest, AStubBeforeAFailedLoadAborts) {
  const LibrarySpec spec{"libhearth-no-such.so.9", "HTTP/2", kZlibNames, std::size(kZlibNames), &remember};
  Library lib(spec);
  EXPECT_DEATH((void)lib.function_or_abort(0), "fatal: deflate was called but cannot be loaded: HTTP/2 needs");
}

}  // namespace
}  // namespace hearth::lazy

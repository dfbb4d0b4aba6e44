#include "lazylibs/libraries.h"

#include <iterator>
#include <mutex>

#include "common/log.h"
#include "lazylibs/brotli_symbols.h"
#include "lazylibs/nghttp2_symbols.h"
#include "lazylibs/zlib_symbols.h"

#ifndef HEARTH_ZLIB_SONAME
#define HEARTH_ZLIB_SONAME "libz.so.1"
#endif
#ifndef HEARTH_BROTLI_SONAME
#define HEARTH_BROTLI_SONAME "libbrotlienc.so.1"
#endif
#ifndef HEARTH_NGHTTP2_SONAME
#define HEARTH_NGHTTP2_SONAME "libnghttp2.so.14"
#endif

namespace hearth::lazylibs {

namespace {

#define HEARTH_LAZY_NAME(name, arity) #name,
constexpr const char* kZlibNames[] = {HEARTH_ZLIB_SYMBOLS(HEARTH_LAZY_NAME)};
constexpr const char* kBrotliNames[] = {HEARTH_BROTLI_SYMBOLS(HEARTH_LAZY_NAME)};
constexpr const char* kNghttp2Names[] = {HEARTH_NGHTTP2_SYMBOLS(HEARTH_LAZY_NAME)};
#undef HEARTH_LAZY_NAME

#ifdef HEARTH_LAZY_LIBS
constexpr auto kZlibInstall = &detail::install_zlib;
constexpr auto kBrotliInstall = &detail::install_brotli;
constexpr auto kNghttp2Install = &detail::install_nghttp2;
#else
constexpr void (*kZlibInstall)(void* const*) = nullptr;
constexpr void (*kBrotliInstall)(void* const*) = nullptr;
constexpr void (*kNghttp2Install)(void* const*) = nullptr;
#endif

constexpr lazy::LibrarySpec kZlib{HEARTH_ZLIB_SONAME, "gzip compression", kZlibNames, std::size(kZlibNames),
                                  kZlibInstall};
constexpr lazy::LibrarySpec kBrotli{HEARTH_BROTLI_SONAME, "brotli compression", kBrotliNames,
                                    std::size(kBrotliNames), kBrotliInstall};
constexpr lazy::LibrarySpec kNghttp2{HEARTH_NGHTTP2_SONAME, "HTTP/2", kNghttp2Names, std::size(kNghttp2Names),
                                     kNghttp2Install};

}  // namespace

lazy::Library& zlib() {
  static lazy::Library lib(kZlib);
  return lib;
}

lazy::Library& brotli() {
  static lazy::Library lib(kBrotli);
  return lib;
}

lazy::Library& nghttp2() {
  static lazy::Library lib(kNghttp2);
  return lib;
}

bool nghttp2_usable() {
  lazy::Library& lib = nghttp2();
  if (lib.loaded()) return true;
  std::string error;
  if (lib.load(error)) return true;
  static std::once_flag logged;
  std::call_once(logged, [&] { HLOG(Error, error << "; serving HTTP/1.1 only (as with http.http2 = false)"); });
  return false;
}

}  // namespace hearth::lazylibs

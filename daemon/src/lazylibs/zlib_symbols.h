#pragma once
// Every zlib function hearthd calls (frontdoor/compressor.cc), X(name, arity):
// the list behind lazylibs/zlib_stubs.cc and the loader (lazylibs/libraries.h).
// zlib's deflateInit2 is a macro for deflateInit2_. A lazy build
// (HEARTH_LAZY_LIBS) that calls a function not listed here fails to link with
// "undefined reference": add it here (the arity is checked at compile time).
#define HEARTH_ZLIB_SYMBOLS(X) \
  X(deflate, 2)                \
  X(deflateBound, 2)           \
  X(deflateEnd, 1)             \
  X(deflateInit2_, 8)

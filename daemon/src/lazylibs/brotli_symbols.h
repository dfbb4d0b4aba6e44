#pragma once
// Every brotli encoder function hearthd calls (frontdoor/compressor.cc),
// X(name, arity): the list behind lazylibs/brotli_stubs.cc and the loader
// (lazylibs/libraries.h). See lazylibs/zlib_symbols.h.
#define HEARTH_BROTLI_SYMBOLS(X)         \
  X(BrotliEncoderCompressStream, 7)      \
  X(BrotliEncoderCreateInstance, 3)      \
  X(BrotliEncoderDestroyInstance, 1)     \
  X(BrotliEncoderHasMoreOutput, 1)       \
  X(BrotliEncoderIsFinished, 1)          \
  X(BrotliEncoderSetParameter, 3)        \
  X(BrotliEncoderTakeOutput, 2)

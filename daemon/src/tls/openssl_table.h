#pragma once
// Private to tls/openssl_loader.cc and tls/openssl_stubs.cc: how the stubs
// get the real functions (common/lazy_library.h, common/lazy_stubs.inc).
#include <cstddef>

#include "common/lazy_library.h"
#include "tls/openssl_symbols.h"

namespace hearth::tls::detail {

// The number of functions in tls/openssl_symbols.h.
enum : std::size_t {
#define HEARTH_OPENSSL_COUNT(name, arity) +1
  kOpenSslFunctionCount = 0 HEARTH_OPENSSL_SYMBOLS(HEARTH_OPENSSL_COUNT)
#undef HEARTH_OPENSSL_COUNT
};

// tls/openssl_loader.cc: libssl (HEARTH_OPENSSL_SONAME) as a lazy library; a
// stub called before it was loaded loads it, and aborts with a message if it
// cannot (the configuration checks load it first: unreachable).
lazy::Library& openssl_library();

// tls/openssl_stubs.cc: points every stub at its real function (`functions`,
// in tls/openssl_symbols.h's order). Called once, by the load, before it
// reports success.
void install_openssl_functions(void* const* functions);

}  // namespace hearth::tls::detail

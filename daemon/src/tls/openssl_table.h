#pragma once
// Private to tls/openssl_loader.cc and tls/openssl_stubs.cc: how the stubs
// get the real functions.
#include <cstddef>
#include <vector>

#include "tls/openssl_symbols.h"

namespace hearth::tls::detail {

// One index per function of tls/openssl_symbols.h, in its order.
enum OpenSslFunction : std::size_t {
#define HEARTH_OPENSSL_INDEX(name, arity) k_##name,
  HEARTH_OPENSSL_SYMBOLS(HEARTH_OPENSSL_INDEX)
#undef HEARTH_OPENSSL_INDEX
  kOpenSslFunctionCount
};

// tls/openssl_stubs.cc: points every stub at its real function (`functions`,
// indexed as above). Called once, by the load, before it reports success.
void install_openssl_functions(const std::vector<void*>& functions);

// tls/openssl_loader.cc, for a stub called before OpenSSL was loaded: loads it
// and returns function `index`; if the library cannot be loaded, prints why on
// stderr and aborts (the configuration checks load it first: unreachable).
void* openssl_function_or_abort(std::size_t index);

}  // namespace hearth::tls::detail

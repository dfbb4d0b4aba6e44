#pragma once
// Private to tls/openssl_loader.cc and tls/openssl_stubs.cc: the function
// table the stubs call through.
#include <atomic>
#include <cstddef>

#include "tls/openssl_symbols.h"

namespace hearth::tls::detail {

// One index per function of tls/openssl_symbols.h.
enum OpenSslFunction : std::size_t {
#define HEARTH_OPENSSL_INDEX(name, arity) k_##name,
  HEARTH_OPENSSL_SYMBOLS(HEARTH_OPENSSL_INDEX)
#undef HEARTH_OPENSSL_INDEX
  kOpenSslFunctionCount
};

// Null until load_openssl() succeeds; then the addresses in libssl/libcrypto,
// never changed again (stored with release, read with acquire).
extern std::atomic<void*> g_openssl_functions[kOpenSslFunctionCount];

// The slow path of a stub called before OpenSSL was loaded: loads it and
// returns function `index`; if the library cannot be loaded, prints why on
// stderr and aborts (the configuration checks load it first, so unreachable).
void* openssl_function_or_abort(std::size_t index);

}  // namespace hearth::tls::detail

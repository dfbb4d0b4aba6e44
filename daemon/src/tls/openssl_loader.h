#pragma once
// OpenSSL, loaded on demand (docs/architecture.md "OpenSSL, loaded on demand").
//
// hearthd does not link libssl/libcrypto (no DT_NEEDED): merely mapping them
// costs the idle daemon ~1.7 MiB of RSS (docs/profile.md section 3) although
// most deployments terminate TLS elsewhere. tls/openssl_stubs.cc defines every
// OpenSSL function the daemon calls (tls/openssl_symbols.h); each forwards
// through a table that load_openssl() fills with dlopen(HEARTH_OPENSSL_SONAME,
// RTLD_NOW | RTLD_LOCAL) + dlsym. The rest of the code calls SSL_read() etc.
// as usual.
//
// Who loads: whatever configures TLS calls load_openssl() first and turns a
// failure into a configuration error (make_server_context for the listener,
// main.cc's check of every https:// keepwarm.url, the keep-warm pinger). A
// stub called before that loads on first use; if that load fails it prints
// why and aborts, which the configuration checks make unreachable.
//
// Built with -DHEARTH_LAZY_OPENSSL=OFF, hearthd links OpenSSL directly, there
// are no stubs and load_openssl() only reports success.
#include <cstddef>
#include <string>
#include <vector>

namespace hearth::tls {

// Loads OpenSSL once for the process (idempotent, thread-safe); true when its
// functions can be called. On failure `error` says why, e.g. "TLS needs
// libssl.so.3: libssl.so.3: cannot open shared object file: No such file or
// directory", and every later call returns the same.
[[nodiscard]] bool load_openssl(std::string& error);

// Whether load_openssl() has succeeded (always true for a direct link).
[[nodiscard]] bool openssl_loaded();

// The library load_openssl() opens (HEARTH_OPENSSL_SONAME, "libssl.so.3").
[[nodiscard]] const char* openssl_soname();

// Whether this build calls OpenSSL through the stubs (HEARTH_LAZY_OPENSSL).
[[nodiscard]] bool openssl_is_lazy();

// The mechanism without the process-wide state, for tests: opens `soname` and
// resolves every function of tls/openssl_symbols.h, in that order, into
// `functions`. On failure `error` says why (as load_openssl) and nothing
// stays open.
[[nodiscard]] bool resolve_openssl(const char* soname, std::vector<void*>& functions, std::string& error);

// The number of functions in tls/openssl_symbols.h.
[[nodiscard]] std::size_t openssl_function_count();

}  // namespace hearth::tls

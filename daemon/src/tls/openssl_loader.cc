#include "tls/openssl_loader.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "tls/openssl_table.h"

#ifndef HEARTH_OPENSSL_SONAME
#define HEARTH_OPENSSL_SONAME "libssl.so.3"
#endif

namespace hearth::tls {

namespace {

constexpr const char* kFunctionNames[] = {
#define HEARTH_OPENSSL_NAME(name, arity) #name,
    HEARTH_OPENSSL_SYMBOLS(HEARTH_OPENSSL_NAME)
#undef HEARTH_OPENSSL_NAME
};
static_assert(std::size(kFunctionNames) == detail::kOpenSslFunctionCount);

struct LoadState {
  bool ok = false;
  std::string error;
  std::vector<void*> functions;  // as resolve_openssl() returns them
};

// Set once the stubs point at OpenSSL (lazy builds).
std::atomic<bool> g_loaded{false};

// Runs once per process (a function-local static: thread-safe).
LoadState load_once() {
  LoadState s;
#ifdef HEARTH_LAZY_OPENSSL
  s.ok = resolve_openssl(HEARTH_OPENSSL_SONAME, s.functions, s.error);
  if (s.ok) {
    detail::install_openssl_functions(s.functions);
    g_loaded.store(true, std::memory_order_release);
  }
#else
  s.ok = true;
#endif
  return s;
}

const LoadState& state() {
  static const LoadState s = load_once();
  return s;
}

}  // namespace

bool resolve_openssl(const char* soname, std::vector<void*>& functions, std::string& error) {
  const std::string prefix = std::string("TLS needs ") + soname + ": ";
  functions.assign(detail::kOpenSslFunctionCount, nullptr);
  // RTLD_LOCAL: the symbols stay out of the global scope, so nothing else
  // binds to them by accident; dlsym on the handle searches libssl and then
  // its dependencies (libcrypto).
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    error = prefix + (why ? why : "dlopen failed");
    return false;
  }
  for (std::size_t i = 0; i < functions.size(); ++i) {
    ::dlerror();
    functions[i] = ::dlsym(handle, kFunctionNames[i]);
    if (functions[i] == nullptr) {
      error = prefix + "it has no function " + kFunctionNames[i] + " (not OpenSSL 3?)";
      ::dlclose(handle);
      functions.assign(functions.size(), nullptr);
      return false;
    }
  }
  return true;  // never closed: the process keeps OpenSSL once loaded
}

bool load_openssl(std::string& error) {
  const LoadState& s = state();
  if (!s.ok) error = s.error;
  return s.ok;
}

bool openssl_loaded() {
#ifdef HEARTH_LAZY_OPENSSL
  return g_loaded.load(std::memory_order_acquire);
#else
  return true;
#endif
}

const char* openssl_soname() { return HEARTH_OPENSSL_SONAME; }

bool openssl_is_lazy() {
#ifdef HEARTH_LAZY_OPENSSL
  return true;
#else
  return false;
#endif
}

std::size_t openssl_function_count() { return detail::kOpenSslFunctionCount; }

namespace detail {

void* openssl_function_or_abort(std::size_t index) {
  std::string error;
  if (!load_openssl(error)) {
    std::fprintf(stderr, "hearthd: fatal: OpenSSL's %s was called but cannot be loaded: %s\n", kFunctionNames[index],
                 error.c_str());
    std::abort();
  }
  return state().functions[index];
}

}  // namespace detail

}  // namespace hearth::tls

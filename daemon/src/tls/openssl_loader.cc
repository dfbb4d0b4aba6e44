#include "tls/openssl_loader.h"

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

#ifdef HEARTH_LAZY_OPENSSL
constexpr auto kInstall = &detail::install_openssl_functions;
#else
constexpr void (*kInstall)(void* const*) = nullptr;  // linked directly: nothing to load
#endif

// "TLS needs libssl.so.3: ..." (common/lazy_library.h).
constexpr const char* kPurpose = "TLS";
constexpr lazy::LibrarySpec kOpenSsl{HEARTH_OPENSSL_SONAME, kPurpose, kFunctionNames, std::size(kFunctionNames),
                                     kInstall};

}  // namespace

namespace detail {

lazy::Library& openssl_library() {
  static lazy::Library lib(kOpenSsl);
  return lib;
}

}  // namespace detail

bool resolve_openssl(const char* soname, std::vector<void*>& functions, std::string& error) {
  const lazy::LibrarySpec spec{soname, kPurpose, kFunctionNames, std::size(kFunctionNames), nullptr};
  return lazy::resolve_library(spec, functions, error);
}

bool load_openssl(std::string& error) { return detail::openssl_library().load(error); }

bool openssl_loaded() { return detail::openssl_library().loaded(); }

const char* openssl_soname() { return HEARTH_OPENSSL_SONAME; }

bool openssl_is_lazy() { return detail::openssl_library().is_lazy(); }

std::size_t openssl_function_count() { return detail::kOpenSslFunctionCount; }

}  // namespace hearth::tls

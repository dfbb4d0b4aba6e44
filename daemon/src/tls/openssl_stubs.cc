// The OpenSSL functions hearthd calls, defined here (HEARTH_LAZY_OPENSSL) so
// that the executable needs no libssl/libcrypto: each forwards to the real
// function through the table tls/openssl_loader.cc fills with dlopen + dlsym
// (tls/openssl_loader.h). The signatures are the headers' own, taken with
// decltype: a mismatch with tls/openssl_symbols.h's arity fails to compile.
// Before the load, each table entry is a FirstCall that loads OpenSSL.
//
// Hidden visibility: the executable never exports them, so libssl's calls
// into libcrypto (and a test executable that also links OpenSSL) never bind
// to a stub.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <tuple>
#include <vector>

#include "tls/openssl_table.h"

namespace hearth::tls::detail {
namespace {

template <class F>
struct Sig;
template <class R, class... A>
struct Sig<R(A...)> {
  using Ret = R;
  using Args = std::tuple<A...>;
  static constexpr std::size_t arity = sizeof...(A);
};

// What a stub calls until OpenSSL is loaded: loads it, then calls the real function.
template <std::size_t K, class F>
struct FirstCall;
template <std::size_t K, class R, class... A>
struct FirstCall<K, R(A...)> {
  static R call(A... a) { return reinterpret_cast<R (*)(A...)>(openssl_function_or_abort(K))(a...); }
};

// The function each stub calls: FirstCall at first (constant-initialized, so
// right from the start of the process), the real one once loaded. A stub is
// then one load and an indirect jump.
struct Functions {
#define HEARTH_OSSL_MEMBER(name, arity) \
  std::atomic<decltype(&::name)> name{&FirstCall<k_##name, decltype(::name)>::call};
  HEARTH_OPENSSL_SYMBOLS(HEARTH_OSSL_MEMBER)
#undef HEARTH_OSSL_MEMBER
};
constinit Functions g_functions;

}  // namespace

void install_openssl_functions(const std::vector<void*>& functions) {
#define HEARTH_OSSL_INSTALL(name, arity) \
  g_functions.name.store(reinterpret_cast<decltype(&::name)>(functions[k_##name]), std::memory_order_release);
  HEARTH_OPENSSL_SYMBOLS(HEARTH_OSSL_INSTALL)
#undef HEARTH_OSSL_INSTALL
}

}  // namespace hearth::tls::detail

#define HEARTH_OSSL_SIG(name) ::hearth::tls::detail::Sig<decltype(::name)>
#define HEARTH_OSSL_ARG(name, i) std::tuple_element_t<i, HEARTH_OSSL_SIG(name)::Args>
#define HEARTH_OSSL_CALL(name) ::hearth::tls::detail::g_functions.name.load(std::memory_order_acquire)
#define HEARTH_OSSL_HEAD(name, n)                                                                            \
  static_assert(HEARTH_OSSL_SIG(name)::arity == n, #name ": the arity in tls/openssl_symbols.h is wrong"); \
  extern "C" __attribute__((visibility("hidden"))) HEARTH_OSSL_SIG(name)::Ret name

#define HEARTH_OSSL_STUB0(name) \
  HEARTH_OSSL_HEAD(name, 0)() { return HEARTH_OSSL_CALL(name)(); }
#define HEARTH_OSSL_STUB1(name) \
  HEARTH_OSSL_HEAD(name, 1)(HEARTH_OSSL_ARG(name, 0) a0) { return HEARTH_OSSL_CALL(name)(a0); }
#define HEARTH_OSSL_STUB2(name)                                                     \
  HEARTH_OSSL_HEAD(name, 2)(HEARTH_OSSL_ARG(name, 0) a0, HEARTH_OSSL_ARG(name, 1) a1) { \
    return HEARTH_OSSL_CALL(name)(a0, a1);                                          \
  }
#define HEARTH_OSSL_STUB3(name)                                                                                  \
  HEARTH_OSSL_HEAD(name, 3)(HEARTH_OSSL_ARG(name, 0) a0, HEARTH_OSSL_ARG(name, 1) a1, HEARTH_OSSL_ARG(name, 2) a2) { \
    return HEARTH_OSSL_CALL(name)(a0, a1, a2);                                                                   \
  }
#define HEARTH_OSSL_STUB4(name)                                                                                  \
  HEARTH_OSSL_HEAD(name, 4)(HEARTH_OSSL_ARG(name, 0) a0, HEARTH_OSSL_ARG(name, 1) a1, HEARTH_OSSL_ARG(name, 2) a2, \
                            HEARTH_OSSL_ARG(name, 3) a3) {                                                       \
    return HEARTH_OSSL_CALL(name)(a0, a1, a2, a3);                                                               \
  }
#define HEARTH_OSSL_STUB5(name)                                                                                  \
  HEARTH_OSSL_HEAD(name, 5)(HEARTH_OSSL_ARG(name, 0) a0, HEARTH_OSSL_ARG(name, 1) a1, HEARTH_OSSL_ARG(name, 2) a2, \
                            HEARTH_OSSL_ARG(name, 3) a3, HEARTH_OSSL_ARG(name, 4) a4) {                          \
    return HEARTH_OSSL_CALL(name)(a0, a1, a2, a3, a4);                                                           \
  }
#define HEARTH_OSSL_STUB(name, arity) HEARTH_OSSL_STUB##arity(name)

HEARTH_OPENSSL_SYMBOLS(HEARTH_OSSL_STUB)

#pragma once
// The templates behind common/lazy_stubs.inc (a library's stubs, see
// common/lazy_library.h).
#include <cstddef>
#include <tuple>

#include "common/lazy_library.h"

namespace hearth::lazy {

// A function type taken apart: the stubs declare the header's own signature.
template <class F>
struct Sig;
template <class R, class... A>
struct Sig<R(A...)> {
  using Ret = R;
  using Args = std::tuple<A...>;
  static constexpr std::size_t arity = sizeof...(A);
};

// What stub K calls until its library is loaded: loads it (aborting if it
// cannot, see Library::function_or_abort), then calls the real function.
template <Library& (*Get)(), std::size_t K, class F>
struct FirstCall;
template <Library& (*Get)(), std::size_t K, class R, class... A>
struct FirstCall<Get, K, R(A...)> {
  static R call(A... a) { return reinterpret_cast<R (*)(A...)>(Get().function_or_abort(K))(a...); }
};

}  // namespace hearth::lazy

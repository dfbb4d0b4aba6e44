#pragma once
// A shared library loaded with dlopen on first need instead of linked
// (docs/architecture.md "zlib, brotli and nghttp2, loaded on demand"): the generic half of
// the mechanism behind zlib, brotli and nghttp2 (lazylibs/libraries.h).
//
// The caller's stub file (common/lazy_stubs.inc) defines every function of
// the library the daemon calls; each forwards through a table of function
// pointers. Library::load() opens the library once (RTLD_NOW | RTLD_LOCAL),
// resolves every name with dlsym and hands the addresses to the stubs
// (`install`). A build that links the library directly has no stubs
// (`install` == nullptr): load() then only reports success.
#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace hearth::lazy {

struct LibrarySpec {
  const char* soname;          // what dlopen opens: "libz.so.1"
  const char* purpose;         // for errors: "gzip compression" -> "gzip compression needs libz.so.1: ..."
  const char* const* names;    // the functions, in the stubs' order
  std::size_t count;           // how many
  void (*install)(void* const* functions);  // points the stubs at them; nullptr: linked directly
};

// Opens spec.soname and resolves every name into `functions` (spec.count
// entries, in order). On failure `error` says why ("gzip compression needs
// libz.so.1: libz.so.1: cannot open shared object file: ...", or the missing
// function) and nothing stays open. Never closed on success.
[[nodiscard]] bool resolve_library(const LibrarySpec& spec, std::vector<void*>& functions, std::string& error);

// One library for the process. Thread-safe; the load is attempted once and
// every later call reports the same outcome.
class Library {
 public:
  explicit Library(const LibrarySpec& spec) : spec_(spec) {}
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // Loads the library (once): true when its functions can be called.
  [[nodiscard]] bool load(std::string& error);
  // Whether load() has succeeded (a direct link: always true).
  [[nodiscard]] bool loaded() const { return spec_.install == nullptr || loaded_.load(std::memory_order_acquire); }
  // Whether this build calls the library through stubs.
  [[nodiscard]] bool is_lazy() const { return spec_.install != nullptr; }
  [[nodiscard]] const LibrarySpec& spec() const { return spec_; }

  // For a stub called before a successful load (a FirstCall): loads and
  // returns function `index`; if the library cannot be loaded, prints why on
  // stderr and aborts. The callers load first, so this is unreachable.
  void* function_or_abort(std::size_t index);

 private:
  const LibrarySpec& spec_;
  std::once_flag once_;
  bool ok_ = false;
  std::string error_;
  std::vector<void*> functions_;
  std::atomic<bool> loaded_{false};
};

}  // namespace hearth::lazy

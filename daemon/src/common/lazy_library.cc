#include "common/lazy_library.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace hearth::lazy {

bool resolve_library(const LibrarySpec& spec, std::vector<void*>& functions, std::string& error) {
  const std::string prefix = std::string(spec.purpose) + " needs " + spec.soname + ": ";
  functions.assign(spec.count, nullptr);
  // RTLD_LOCAL: the symbols stay out of the global scope, so nothing else
  // binds to them by accident; dlsym on the handle searches the library and
  // then its dependencies.
  void* handle = ::dlopen(spec.soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    error = prefix + (why ? why : "dlopen failed");
    return false;
  }
  for (std::size_t i = 0; i < spec.count; ++i) {
    ::dlerror();
    functions[i] = ::dlsym(handle, spec.names[i]);
    if (functions[i] == nullptr) {
      error = prefix + "it has no function " + spec.names[i] + " (another version?)";
      ::dlclose(handle);
      functions.assign(spec.count, nullptr);
      return false;
    }
  }
  return true;  // never closed: the process keeps the library once loaded
}

bool Library::load(std::string& error) {
  std::call_once(once_, [this] {
    if (spec_.install == nullptr) {
      ok_ = true;
      return;
    }
    ok_ = resolve_library(spec_, functions_, error_);
    if (ok_) {
      spec_.install(functions_.data());
      loaded_.store(true, std::memory_order_release);
    }
  });
  if (!ok_) error = error_;
  return ok_;
}

void* Library::function_or_abort(std::size_t index) {
  std::string error;
  if (!load(error)) {
    std::fprintf(stderr, "hearthd: fatal: %s was called but cannot be loaded: %s\n", spec_.names[index],
                 error.c_str());
    std::abort();
  }
  return functions_[index];
}

}  // namespace hearth::lazy

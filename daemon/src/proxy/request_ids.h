#pragma once
// hearthd's own request ids, for a request whose client sent no X-Request-ID:
// "<random per-process prefix>-<tag><request counter in hex>". One generator
// for the apps' proxy and the upstreams (no tag), static files ("s") and
// rate-limited answers ("r"): each its own counter, so the tag keeps them apart.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

namespace hearth::proxy {

class RequestIds {
 public:
  // A random per-process prefix keeps ids unique across restarts.
  explicit RequestIds(const char* tag = "") {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    prefix_ = buf;
    prefix_ += '-';
    prefix_ += tag;
  }
  // Request number n's id, as snprintf("%s-%s%llx") wrote it, without the format parser.
  std::string make(uint64_t n) const {
    char buf[48];
    std::memcpy(buf, prefix_.data(), prefix_.size());  // at most 8 + 1 + a short tag
    char* p = buf + prefix_.size();
    p = std::to_chars(p, buf + sizeof buf, static_cast<unsigned long long>(n), 16).ptr;
    return std::string(buf, static_cast<std::size_t>(p - buf));
  }

 private:
  std::string prefix_;
};

}  // namespace hearth::proxy

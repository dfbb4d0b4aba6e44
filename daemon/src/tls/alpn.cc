#include "tls/alpn.h"

namespace hearth::tls {

std::optional<std::string_view> select_alpn(std::string_view client, bool h2) {
  std::optional<std::string_view> http11;
  std::optional<std::string_view> h2_offer;
  while (!client.empty()) {
    std::size_t len = static_cast<unsigned char>(client[0]);
    if (len == 0 || len + 1 > client.size()) return std::nullopt;  // malformed
    std::string_view name = client.substr(1, len);
    if (name == "h2") h2_offer = name;
    if (name == "http/1.1") http11 = name;
    client.remove_prefix(len + 1);
  }
  if (h2 && h2_offer) return h2_offer;
  return http11;
}

}  // namespace hearth::tls

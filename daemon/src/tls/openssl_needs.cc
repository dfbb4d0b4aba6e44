#include "tls/openssl_needs.h"

namespace hearth::tls {

std::vector<std::string> keys_needing_openssl(const std::shared_ptr<const config::Config>& cfg) {
  std::vector<std::string> keys;
  if (cfg->tls.enabled()) keys.emplace_back("tls.certfile");
  const auto apps = config::apps_of(cfg);
  for (std::size_t i = 0; i < apps.size(); ++i) {
    if (apps[i].settings->keepwarm.url.rfind("https://", 0) != 0) continue;
    keys.push_back(cfg->apps.empty() ? std::string("keepwarm.url") : "apps[" + std::to_string(i) + "].keepwarm.url");
  }
  return keys;
}

}  // namespace hearth::tls

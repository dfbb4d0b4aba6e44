#pragma once
// Which parts of a configuration need OpenSSL (tls/openssl_loader.h): pure,
// so main.cc can load the library before anything else and report a machine
// without libssl as a configuration error that names the key.
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace hearth::tls {

// The keys that need TLS, in order: "tls.certfile" for a TLS listener, then
// "keepwarm.url" (or "apps[I].keepwarm.url" for the I-th [[apps]] entry) for each
// https:// keep-warm URL. Empty: the daemon never loads OpenSSL.
[[nodiscard]] std::vector<std::string> keys_needing_openssl(const std::shared_ptr<const config::Config>& cfg);

}  // namespace hearth::tls

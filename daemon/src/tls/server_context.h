#pragma once
// The OpenSSL server context behind the HTTPS listeners: certificate chain and
// private key from PEM files, TLS 1.2+ (or 1.3 only), the Mozilla
// "intermediate" TLS 1.2 ciphers, ALPN selecting h2 or http/1.1.
//
// A context is never changed once built. A certificate reload builds a new one
// and the server hands it to new connections; a connection keeps the context
// it was accepted with until it closes (shared_ptr).
//
// Start-up regime: every failure comes back as one clear message ("certfile
// /etc/x.pem: cannot read: No such file or directory"), never an exception.
#include <memory>
#include <string>

#include "config/config.h"

namespace boost::asio::ssl {
class context;
}

namespace hearth::tls {

// Mozilla "intermediate" (server side TLS v5.7): forward-secret AEAD suites
// only. TLS 1.3 suites are OpenSSL's defaults (all AEAD).
inline constexpr const char* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

struct ContextResult {
  std::shared_ptr<boost::asio::ssl::context> context;  // null on error
  std::string error;        // why there is no context
  std::string description;  // the certificate, for logs: "subject CN=x, serial 1F, expires Jan  1 ..."
  bool expired = false;     // the leaf certificate's notAfter has passed (served anyway; logged)
};

// Builds a context from `cfg` (which must have certfile set). `h2`: offer h2
// in ALPN ([http] http2). With [[tls.certificates]], one more context per
// entry, chosen during the handshake by the client's server name (tls/sni.h);
// they are owned with the returned context. `description` then lists each.
// An error in any entry fails the whole build (named "tls.certificates[N]").
// Loads OpenSSL first (tls/openssl_loader.h); a failure to is the error.
ContextResult make_server_context(const config::TlsConfig& cfg, bool h2);

}  // namespace hearth::tls

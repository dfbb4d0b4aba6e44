#include "tls/server_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lazylibs/libraries.h"
#include "tls/alpn.h"
#include "tls/openssl_loader.h"
#include "tls/sni.h"

namespace hearth::tls {

namespace ssl = boost::asio::ssl;

namespace {

// The ALPN callback's argument: whether h2 may be selected. Static storage, so
// the callback never points into an object that a reload could free.
const bool kWithH2 = true;
const bool kWithoutH2 = false;

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const bool h2 = *static_cast<const bool*>(arg);
  const std::string_view client(reinterpret_cast<const char*>(in), inlen);
  auto chosen = select_alpn(client, h2);
  // h2 needs nghttp2, loaded by the first HTTP/2 connection (lazylibs/libraries.h):
  // if it cannot be (logged once), the client gets HTTP/1.1 as with http.http2 = false.
  if (chosen && *chosen == "h2" && !lazylibs::nghttp2_usable()) chosen = select_alpn(client, false);
  if (!chosen) return SSL_TLSEXT_ERR_NOACK;  // go on without ALPN: HTTP/1.1
  *out = reinterpret_cast<const unsigned char*>(chosen->data());
  *outlen = static_cast<unsigned char>(chosen->size());
  return SSL_TLSEXT_ERR_OK;
}

// Never prompt on the terminal for a passphrase: an encrypted key is an error.
int no_passphrase(char*, int, int, void*) { return -1; }

// The most specific OpenSSL error in the queue, which is cleared.
std::string openssl_error() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  // "error:0A00018F:SSL routines::ee key too small" -> keep the reason after the last ':'.
  std::string s(buf);
  auto colon = s.rfind(':');
  return colon == std::string::npos || colon + 1 >= s.size() ? s : s.substr(colon + 1);
}

// "" if the file can be opened for reading, else why not.
std::string unreadable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return std::strerror(errno);
  std::fclose(f);
  return "";
}

bool file_contains(const std::string& path, std::string_view needle) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find(needle) != std::string::npos;
}

std::string describe(X509* x, bool* expired) {
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
    BIO_puts(bio, ", serial ");
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)) {
      if (char* hex = BN_bn2hex(bn)) {
        BIO_puts(bio, hex);
        OPENSSL_free(hex);
      }
      BN_free(bn);
    }
    BIO_puts(bio, ", expires ");
    ASN1_TIME_print(bio, X509_get0_notAfter(x));
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
  }
  *expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
  return out;
}

// One context serving `certfile` (+ `keyfile`) with cfg's protocol settings.
// `where` prefixes every error ("tls.certificates[1]: ").
ContextResult build_context(const std::string& certfile, const std::string& keyfile, const config::TlsConfig& cfg,
                            bool h2, const std::string& where) {
  ContextResult r;
  const std::string& cert = certfile;
  const std::string key = keyfile.empty() ? certfile : keyfile;
  const std::string key_label = where + (keyfile.empty() ? "certfile" : "keyfile");
  if (cert.empty()) {
    r.error = "certfile is not set";
    return r;
  }
  if (std::string why = unreadable(cert); !why.empty()) {
    r.error = where + "certfile " + cert + ": cannot read: " + why;
    return r;
  }
  if (std::string why = unreadable(key); !why.empty()) {
    r.error = key_label + " " + key + ": cannot read: " + why;
    return r;
  }
  ERR_clear_error();
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    r.error = std::string("cannot create a TLS context: ") + e.what();
    return r;
  }
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, cfg.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  // Idle connections give their read/write record buffers back.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_dh_auto(c, 1);
  SSL_CTX_set_default_passwd_cb(c, &no_passphrase);
  static const unsigned char kSidContext[] = "hearth";
  SSL_CTX_set_session_id_context(c, kSidContext, sizeof kSidContext - 1);
  const std::string ciphers = cfg.ciphers.empty() ? kIntermediateCiphers : cfg.ciphers;
  if (SSL_CTX_set_cipher_list(c, ciphers.c_str()) != 1) {
    ERR_clear_error();
    r.error = "tls.ciphers: no usable cipher in '" + ciphers + "'";
    return r;
  }
  if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1) {
    r.error = where + "certfile " + cert + ": not a usable PEM certificate chain: " + openssl_error();
    return r;
  }
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string detail = openssl_error();
    if (detail.find("mismatch") != std::string::npos) {
      r.error = key_label + " " + key + ": the private key does not match the certificate in certfile " + cert;
    } else if (file_contains(key, "ENCRYPTED")) {
      r.error = key_label + " " + key + ": the private key is encrypted; hearth needs an unencrypted key";
    } else if (keyfile.empty()) {
      r.error = where + "certfile " + cert + ": no private key in it (" + detail + "); set keyfile";
    } else {
      r.error = where + "keyfile " + key + ": not a usable PEM private key: " + detail;
    }
    return r;
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    ERR_clear_error();
    r.error = key_label + " " + key + ": the private key does not match the certificate in certfile " + cert;
    return r;
  }
  SSL_CTX_set_alpn_select_cb(c, &alpn_select, const_cast<bool*>(h2 ? &kWithH2 : &kWithoutH2));
  if (X509* x = SSL_CTX_get0_certificate(c)) r.description = describe(x, &r.expired);
  ERR_clear_error();
  r.context = std::move(ctx);
  return r;
}

// The servername callback's argument: the SNI table and the context of each
// [[tls.certificates]] entry. Owned together with the default context (see
// make_server_context), so it lives as long as any connection using it.
struct SniContexts {
  SniTable table;
  std::vector<std::shared_ptr<ssl::context>> contexts;
};

int pick_certificate(SSL* s, int*, void* arg) {
  const auto* sni = static_cast<const SniContexts*>(arg);
  const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  if (auto i = sni->table.lookup(name)) SSL_set_SSL_CTX(s, sni->contexts[*i]->native_handle());
  return SSL_TLSEXT_ERR_OK;
}

struct ContextWithSni {
  std::shared_ptr<ssl::context> main;
  std::shared_ptr<SniContexts> sni;
};

}  // namespace

ContextResult make_server_context(const config::TlsConfig& cfg, bool h2) {
  ContextResult r;
  if (!load_openssl(r.error)) return r;
  r = build_context(cfg.certfile, cfg.keyfile, cfg, h2, "");
  if (!r.context || cfg.certificates.empty()) return r;
  std::vector<std::vector<std::string>> hosts;
  for (const auto& c : cfg.certificates) hosts.push_back(c.hosts);
  std::vector<std::string> errors;
  auto sni = std::make_shared<SniContexts>();
  sni->table = SniTable::build(hosts, &errors);
  if (!errors.empty()) {
    r.context.reset();
    r.error = errors.front();
    for (std::size_t i = 1; i < errors.size(); ++i) r.error += "; " + errors[i];
    return r;
  }
  for (std::size_t i = 0; i < cfg.certificates.size(); ++i) {
    const auto& c = cfg.certificates[i];
    ContextResult e = build_context(c.certfile, c.keyfile, cfg, h2, "tls.certificates[" + std::to_string(i) + "]: ");
    if (!e.context) {
      r.context.reset();
      r.error = e.error;
      return r;
    }
    std::string names;
    for (const auto& h : c.hosts) names += (names.empty() ? "" : ", ") + h;
    r.description += "; for " + names + ": " + e.description;
    r.expired = r.expired || e.expired;
    sni->contexts.push_back(std::move(e.context));
  }
  SSL_CTX* main = r.context->native_handle();
  SSL_CTX_set_tlsext_servername_callback(main, &pick_certificate);
  SSL_CTX_set_tlsext_servername_arg(main, sni.get());
  auto both = std::make_shared<ContextWithSni>(ContextWithSni{std::move(r.context), std::move(sni)});
  r.context = std::shared_ptr<ssl::context>(both, both->main.get());
  return r;
}

}  // namespace hearth::tls

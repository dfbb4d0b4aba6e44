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

#include "tls/alpn.h"

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
  auto chosen = select_alpn(std::string_view(reinterpret_cast<const char*>(in), inlen), h2);
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

}  // namespace

ContextResult make_server_context(const config::TlsConfig& cfg, bool h2) {
  ContextResult r;
  const std::string& cert = cfg.certfile;
  const std::string key = cfg.keyfile.empty() ? cfg.certfile : cfg.keyfile;
  const char* key_label = cfg.keyfile.empty() ? "certfile" : "keyfile";
  if (cert.empty()) {
    r.error = "certfile is not set";
    return r;
  }
  if (std::string why = unreadable(cert); !why.empty()) {
    r.error = "certfile " + cert + ": cannot read: " + why;
    return r;
  }
  if (std::string why = unreadable(key); !why.empty()) {
    r.error = std::string(key_label) + " " + key + ": cannot read: " + why;
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
    r.error = "certfile " + cert + ": not a usable PEM certificate chain: " + openssl_error();
    return r;
  }
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string detail = openssl_error();
    if (detail.find("mismatch") != std::string::npos) {
      r.error = std::string(key_label) + " " + key + ": the private key does not match the certificate in certfile " + cert;
    } else if (file_contains(key, "ENCRYPTED")) {
      r.error = std::string(key_label) + " " + key + ": the private key is encrypted; hearth needs an unencrypted key";
    } else if (cfg.keyfile.empty()) {
      r.error = "certfile " + cert + ": no private key in it (" + detail + "); set keyfile";
    } else {
      r.error = "keyfile " + key + ": not a usable PEM private key: " + detail;
    }
    return r;
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    ERR_clear_error();
    r.error = std::string(key_label) + " " + key + ": the private key does not match the certificate in certfile " + cert;
    return r;
  }
  SSL_CTX_set_alpn_select_cb(c, &alpn_select, const_cast<bool*>(h2 ? &kWithH2 : &kWithoutH2));
  if (X509* x = SSL_CTX_get0_certificate(c)) r.description = describe(x, &r.expired);
  ERR_clear_error();
  r.context = std::move(ctx);
  return r;
}

}  // namespace hearth::tls

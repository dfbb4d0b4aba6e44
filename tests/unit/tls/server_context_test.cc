// make_server_context against certificates and keys made here with the
// OpenSSL API (no openssl CLI needed): every bad input is one clear message.
#include "tls/server_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace hearth::tls {
namespace {

using ::testing::HasSubstr;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

Key new_key() { return Key(EVP_EC_gen("P-256")); }

// A self-signed certificate for `cn`, valid from now+from_days to now+to_days.
Cert new_cert(EVP_PKEY* key, const char* cn, long serial, long from_days = 0, long to_days = 1) {
  Cert x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), to_days * 86400);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_sign(x.get(), key, EVP_sha256());
  return x;
}

class ServerContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hearth-tls-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) { return dir_ + "/" + name; }
  std::string write_cert(const std::string& name, X509* x) {
    std::FILE* f = std::fopen(path(name).c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    return path(name);
  }
  std::string write_key(const std::string& name, EVP_PKEY* k, bool encrypted = false, bool append = false) {
    std::FILE* f = std::fopen(path(name).c_str(), append ? "a" : "w");
    static unsigned char pw[] = "secret";
    if (encrypted) {
      PEM_write_PrivateKey(f, k, EVP_aes_128_cbc(), pw, 6, nullptr, nullptr);
    } else {
      PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
    }
    std::fclose(f);
    return path(name);
  }
  std::string write_text(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  config::TlsConfig cfg(const std::string& cert, const std::string& key) {
    config::TlsConfig c;
    c.certfile = cert;
    c.keyfile = key;
    return c;
  }

  std::string dir_;
};

TEST_F(ServerContextTest, AGoodPairMakesAContext) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "test.example", 0x1234);
  auto r = make_server_context(cfg(write_cert("c.pem", x.get()), write_key("k.pem", k.get())), true);
  ASSERT_TRUE(r.context) << r.error;
  EXPECT_TRUE(r.error.empty());
  EXPECT_THAT(r.description, HasSubstr("CN=test.example"));
  EXPECT_THAT(r.description, HasSubstr("serial 1234"));
  EXPECT_FALSE(r.expired);
  SSL_CTX* c = r.context->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c), TLS1_2_VERSION);
  EXPECT_TRUE(SSL_CTX_get_options(c) & SSL_OP_NO_COMPRESSION);
}

TEST_F(ServerContextTest, MinVersion13) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "t", 1);
  auto c = cfg(write_cert("c.pem", x.get()), write_key("k.pem", k.get()));
  c.min_version = "1.3";
  auto r = make_server_context(c, false);
  ASSERT_TRUE(r.context) << r.error;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(r.context->native_handle()), TLS1_3_VERSION);
}

TEST_F(ServerContextTest, KeyInsideTheCertfile) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "t", 1);
  std::string both = write_cert("both.pem", x.get());
  write_key("both.pem", k.get(), false, /*append=*/true);
  auto r = make_server_context(cfg(both, ""), true);
  EXPECT_TRUE(r.context) << r.error;
  // Without a key in it, the message says to set keyfile.
  auto r2 = make_server_context(cfg(write_cert("only.pem", x.get()), ""), true);
  EXPECT_FALSE(r2.context);
  EXPECT_THAT(r2.error, HasSubstr("certfile " + path("only.pem") + ": no private key in it"));
  EXPECT_THAT(r2.error, HasSubstr("set keyfile"));
}

TEST_F(ServerContextTest, MissingFiles) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "t", 1);
  auto r = make_server_context(cfg(path("nope.pem"), write_key("k.pem", k.get())), true);
  EXPECT_FALSE(r.context);
  EXPECT_EQ(r.error, "certfile " + path("nope.pem") + ": cannot read: No such file or directory");
  auto r2 = make_server_context(cfg(write_cert("c.pem", x.get()), path("nokey.pem")), true);
  EXPECT_EQ(r2.error, "keyfile " + path("nokey.pem") + ": cannot read: No such file or directory");
  EXPECT_EQ(make_server_context(cfg("", ""), true).error, "certfile is not set");
}

TEST_F(ServerContextTest, MismatchedKey) {
  Key k = new_key();
  Key other = new_key();
  Cert x = new_cert(k.get(), "t", 1);
  auto r = make_server_context(cfg(write_cert("c.pem", x.get()), write_key("k.pem", other.get())), true);
  EXPECT_FALSE(r.context);
  EXPECT_THAT(r.error, HasSubstr("keyfile " + path("k.pem") + ": the private key does not match the certificate"));
}

TEST_F(ServerContextTest, NotPem) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "t", 1);
  auto r = make_server_context(cfg(write_text("c.pem", "hello\n"), write_key("k.pem", k.get())), true);
  EXPECT_FALSE(r.context);
  EXPECT_THAT(r.error, HasSubstr("certfile " + path("c.pem") + ": not a usable PEM certificate chain"));
  auto r2 = make_server_context(cfg(write_cert("c2.pem", x.get()), write_text("k2.pem", "garbage")), true);
  EXPECT_THAT(r2.error, HasSubstr("keyfile " + path("k2.pem") + ": not a usable PEM private key"));
}

TEST_F(ServerContextTest, EncryptedKeyIsRefusedWithoutPrompting) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "t", 1);
  auto r = make_server_context(cfg(write_cert("c.pem", x.get()), write_key("k.pem", k.get(), true)), true);
  EXPECT_FALSE(r.context);
  EXPECT_THAT(r.error, HasSubstr("encrypted"));
}

TEST_F(ServerContextTest, BadCipherList) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "t", 1);
  auto c = cfg(write_cert("c.pem", x.get()), write_key("k.pem", k.get()));
  c.ciphers = "NOT-A-CIPHER";
  auto r = make_server_context(c, true);
  EXPECT_FALSE(r.context);
  EXPECT_EQ(r.error, "tls.ciphers: no usable cipher in 'NOT-A-CIPHER'");
}

TEST_F(ServerContextTest, ExpiredCertificateIsServedButFlagged) {
  Key k = new_key();
  Cert x = new_cert(k.get(), "t", 1, -3, -1);
  auto r = make_server_context(cfg(write_cert("c.pem", x.get()), write_key("k.pem", k.get())), true);
  ASSERT_TRUE(r.context) << r.error;
  EXPECT_TRUE(r.expired);
}

}  // namespace
}  // namespace hearth::tls

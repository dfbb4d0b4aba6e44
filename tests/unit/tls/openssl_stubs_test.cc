// tls/openssl_stubs.cc in an executable that, like hearthd, does not link
// OpenSSL: nothing is mapped until the first call, which loads libssl; the
// calls reach the real functions; the stubs are not exported.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "../common/self_maps.h"
#include "tls/openssl_loader.h"

namespace hearth::tls {
namespace {

using hearth::testing::mapped;

// First in this file: ctest runs each test in its own process; run by hand,
// the executable runs it before the others load the library.
TEST(OpenSslStubs, NothingIsMappedUntilTheFirstCall) {
  ASSERT_TRUE(openssl_is_lazy());
  ASSERT_FALSE(openssl_loaded());
  EXPECT_FALSE(mapped("libssl.so"));
  EXPECT_FALSE(mapped("libcrypto.so"));
  ERR_clear_error();  // a stub: loads on first use
  EXPECT_TRUE(openssl_loaded());
  EXPECT_TRUE(mapped("libssl.so"));
  EXPECT_TRUE(mapped("libcrypto.so"));
}

TEST(OpenSslStubs, CallsReachOpenSsl) {
  std::string error;
  ASSERT_TRUE(load_openssl(error)) << error;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), 1);  // a macro over SSL_CTX_ctrl
  EXPECT_EQ(SSL_CTX_ctrl(ctx, SSL_CTRL_GET_MIN_PROTO_VERSION, 0, nullptr), TLS1_3_VERSION);
  ERR_clear_error();
  EXPECT_EQ(SSL_CTX_set_cipher_list(ctx, "NO-SUCH-CIPHER"), 0);
  unsigned long e = ERR_get_error();
  ASSERT_NE(e, 0u);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  EXPECT_NE(std::string(buf).find("no cipher match"), std::string::npos) << buf;
  SSL* ssl = SSL_new(ctx);
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(SSL_get_error(ssl, 1), SSL_ERROR_NONE);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
}

TEST(OpenSslStubs, TheExecutableDefinesThemAndDoesNotExportThem) {
  // The address the code calls is the stub in this executable, not libssl's.
  Dl_info info{};
  ASSERT_NE(::dladdr(reinterpret_cast<void*>(&SSL_CTX_new), &info), 0);
  EXPECT_EQ(std::string(info.dli_fname).find("libssl"), std::string::npos) << info.dli_fname;
  // Not in the dynamic symbol table: libssl's own calls never land in a stub.
  void* self = ::dlopen(nullptr, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  std::string error;
  ASSERT_TRUE(load_openssl(error)) << error;
  void* found = ::dlsym(self, "SSL_CTX_new");  // the global scope: libssl is RTLD_LOCAL, the stub hidden
  EXPECT_EQ(found, nullptr);
}

}  // namespace
}  // namespace hearth::tls

// tls/openssl_loader.h: the process-wide load (idempotent) and the mechanism
// behind it with other sonames (the error paths). unit_tls also links OpenSSL
// itself (the certificate helpers of the other tests); the stubs are tested
// alone in openssl_stubs_test.cc.
#include "tls/openssl_loader.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "config/defaults.h"
#include "tls/openssl_needs.h"

namespace hearth::tls {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(OpenSslLoader, LoadsOnceAndSaysSoEveryTime) {
  std::string error;
  ASSERT_TRUE(load_openssl(error)) << error;
  EXPECT_TRUE(error.empty());
  EXPECT_TRUE(openssl_loaded());
  ASSERT_TRUE(load_openssl(error)) << error;
  EXPECT_TRUE(openssl_loaded());
  EXPECT_STREQ(openssl_soname(), "libssl.so.3");
}

TEST(OpenSslLoader, ResolvesEveryFunctionFromLibssl) {
  std::vector<void*> functions;
  std::string error;
  ASSERT_TRUE(resolve_openssl(openssl_soname(), functions, error)) << error;
  ASSERT_EQ(functions.size(), openssl_function_count());
  for (void* f : functions) EXPECT_NE(f, nullptr);
  // libcrypto's functions come through libssl's handle too (its dependency).
  void* crypto = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(crypto, nullptr);
  void* err_get_error = ::dlsym(crypto, "ERR_get_error");
  EXPECT_NE(std::find(functions.begin(), functions.end(), err_get_error), functions.end());
  ::dlclose(crypto);
}

TEST(OpenSslLoader, MissingLibraryIsAClearError) {
  std::vector<void*> functions;
  std::string error;
  EXPECT_FALSE(resolve_openssl("libhearth-no-such-ssl.so.9", functions, error));
  EXPECT_THAT(error, StartsWith("TLS needs libhearth-no-such-ssl.so.9: "));
  EXPECT_THAT(error, HasSubstr("cannot open shared object file"));
  for (void* f : functions) EXPECT_EQ(f, nullptr);
}

TEST(OpenSslLoader, LibraryWithoutTheFunctionsIsAClearError) {
  // zlib is on every machine hearthd runs on (it links it): a real library, not OpenSSL.
  std::vector<void*> functions;
  std::string error;
  EXPECT_FALSE(resolve_openssl("libz.so.1", functions, error));
  EXPECT_THAT(error, StartsWith("TLS needs libz.so.1: it has no function "));
  for (void* f : functions) EXPECT_EQ(f, nullptr);
}

std::shared_ptr<config::Config> hello() {
  auto c = std::make_shared<config::Config>(config::default_config());
  c->app = "hello:application";
  return c;
}

TEST(OpenSslNeeds, NothingForPlainHttp) {
  auto c = hello();
  c->keepwarm.url = "http://example.org/";
  EXPECT_TRUE(keys_needing_openssl(c).empty());
}

TEST(OpenSslNeeds, TlsListenerAndHttpsKeepwarm) {
  auto c = hello();
  c->tls.certfile = "/etc/x.pem";
  c->keepwarm.url = "https://example.org/";
  EXPECT_EQ(keys_needing_openssl(c), (std::vector<std::string>{"tls.certfile", "keepwarm.url"}));
}

TEST(OpenSslNeeds, HttpsKeepwarmOfOneApp) {
  auto c = hello();
  auto plain = hello();
  plain->keepwarm.url = "http://a.example.org/";
  auto https = hello();
  https->keepwarm.url = "https://b.example.org/";
  c->apps = {config::AppConfig{"a", {"a.example.org"}, "", plain}, config::AppConfig{"b", {"b.example.org"}, "", https}};
  EXPECT_EQ(keys_needing_openssl(c), (std::vector<std::string>{"apps[1].keepwarm.url"}));
}

}  // namespace
}  // namespace hearth::tls

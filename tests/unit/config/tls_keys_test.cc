// certfile, keyfile and [tls]: parsing, the CLI flags, and their cross-field rules.
// (Whether the files hold a usable certificate and key is tls::make_server_context's job.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/summary.h"
#include "load_text.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::load_text;
using testing::all_errors;

TEST(TlsKeys, DefaultsAreOff) {
  LoadResult r = load_text("");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_FALSE(r.config->tls.enabled());
  EXPECT_EQ(r.config->tls.min_version, "1.2");
  EXPECT_EQ(r.config->tls.hsts_max_age.count(), 0);
  EXPECT_TRUE(r.config->tls.redirect_http_from.empty());
}

TEST(TlsKeys, AllParse) {
  LoadResult r = load_text(R"(bind = ":8443"
certfile = "/etc/ssl/fullchain.pem"
keyfile = "/etc/ssl/privkey.pem"

[tls]
min_version = "TLSv1.3"
ciphers = "ECDHE-RSA-AES128-GCM-SHA256"
hsts_max_age = 31536000
redirect_http_from = [":8080", "127.0.0.1:8081"]
)");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const TlsConfig& t = r.config->tls;
  EXPECT_TRUE(t.enabled());
  EXPECT_EQ(t.certfile, "/etc/ssl/fullchain.pem");
  EXPECT_EQ(t.keyfile, "/etc/ssl/privkey.pem");
  EXPECT_EQ(t.min_version, "1.3");
  EXPECT_EQ(t.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(t.hsts_max_age, std::chrono::seconds(31536000));
  ASSERT_EQ(t.redirect_http_from.size(), 2u);
  EXPECT_EQ(t.redirect_http_from[0].port, 8080);
  EXPECT_EQ(t.redirect_http_from[1].host, "127.0.0.1");
  std::string toml = to_toml(*r.config);
  EXPECT_THAT(toml, HasSubstr("certfile = \"/etc/ssl/fullchain.pem\""));
  EXPECT_THAT(toml, HasSubstr("[tls]\nmin_version = \"1.3\""));
  // certfile is a top-level key: it must come before the first [table].
  EXPECT_LT(toml.find("certfile"), toml.find("[env]"));
}

TEST(TlsKeys, MinVersionAcceptsABareFloat) {
  LoadResult r = load_text("certfile = \"c.pem\"\n[tls]\nmin_version = 1.3\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.config->tls.min_version, "1.3");
}

TEST(TlsKeys, BadValuesSayWhatWasExpected) {
  LoadResult r = load_text("certfile = \"c.pem\"\n[tls]\nmin_version = \"1.1\"\nhsts_max_age = \"a year\"\n"
                           "redirect_http_from = \"nowhere:x\"\nciphers = 3\n");
  std::string errors = all_errors(r);
  EXPECT_THAT(errors, HasSubstr("tls.min_version: expected \"1.2\" or \"1.3\", got \"1.1\""));
  EXPECT_THAT(errors, HasSubstr("tls.hsts_max_age: expected a duration"));
  EXPECT_THAT(errors, HasSubstr("tls.redirect_http_from: expected an address"));
  EXPECT_THAT(errors, HasSubstr("tls.ciphers: expected a string"));
}

TEST(TlsKeys, UnknownTlsKeyIsSuggested) {
  LoadResult r = load_text("certfile = \"c.pem\"\n[tls]\nhsts_maxage = 1\n");
  EXPECT_THAT(all_errors(r), HasSubstr("unknown key 'tls.hsts_maxage' (did you mean 'tls.hsts_max_age'?)"));
}

TEST(TlsKeys, SettingsThatNeedACertificate) {
  LoadResult r = load_text("keyfile = \"k.pem\"\n[tls]\nhsts_max_age = 60\nredirect_http_from = \":8080\"\n");
  std::string errors = all_errors(r);
  EXPECT_THAT(errors, HasSubstr("keyfile: is set but certfile is not"));
  EXPECT_THAT(errors, HasSubstr("tls.hsts_max_age: needs certfile"));
  EXPECT_THAT(errors, HasSubstr("tls.redirect_http_from: needs certfile"));
}

TEST(TlsKeys, RedirectListenerMustNotClash) {
  LoadResult r = load_text("bind = \"127.0.0.1:8443\"\ncertfile = \"c.pem\"\nadmin_bind = \"127.0.0.1:9000\"\n"
                           "[tls]\nredirect_http_from = [\"127.0.0.1:8443\", \"127.0.0.1:9000\", \":8080\", \":8080\"]\n");
  std::string errors = all_errors(r);
  EXPECT_THAT(errors, HasSubstr("'127.0.0.1:8443' is also an application bind"));
  EXPECT_THAT(errors, HasSubstr("'127.0.0.1:9000' is also the admin bind"));
  EXPECT_THAT(errors, HasSubstr("':8080' is also listed before"));
}

TEST(TlsKeys, RedirectNeedsATcpBind) {
  LoadResult r = load_text("bind = \"unix:/tmp/x.sock\"\ncertfile = \"c.pem\"\n[tls]\nredirect_http_from = \":8080\"\n");
  EXPECT_THAT(all_errors(r), HasSubstr("needs a TCP bind to redirect to"));
}

TEST(TlsKeys, CliFlagsSetCertAndKey) {
  LoadInputs in;
  in.args = {"a:app", "-b", "127.0.0.1:8443", "--certfile", "c.pem", "--keyfile=k.pem"};
  in.cores = 1;
  LoadResult r = load(in);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.config->tls.certfile, "c.pem");
  EXPECT_EQ(r.config->tls.keyfile, "k.pem");
  in.args = {"a:app", "--keyfile", "k.pem"};
  EXPECT_THAT(all_errors(load(in)), HasSubstr("--keyfile: is set but certfile is not"));
  in.args = {"a:app", "--certfile="};
  EXPECT_THAT(all_errors(load(in)), HasSubstr("--certfile: expected a file path"));
}

}  // namespace
}  // namespace hearth::config

// The front-door keys (docs/frontdoor.md): proxy_protocol / proxy_allow_ips,
// [[rate_limit]], http.max_connections_per_ip, [[error_page]]: parsing,
// messages with file:line:col, the cross-field rules, and the summary round trip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/cli.h"
#include "config/loader.h"
#include "config/summary.h"
#include "load_text.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::all_errors;

TEST(FrontdoorKeys, DefaultsAreOff) {
  TempDir dir;
  LoadResult r = load_file_only(dir.write("t.toml", "app = \"a:app\"\n"), 2);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_FALSE(r.config->proxy_protocol);
  EXPECT_EQ(r.config->proxy_allow_ips, std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(r.config->rate_limits.empty());
  EXPECT_TRUE(r.config->error_pages.empty());
  EXPECT_EQ(r.config->http.max_connections_per_ip, 0u);
}

TEST(FrontdoorKeys, AllKeysParseAndRoundTripThroughTheSummary) {
  TempDir dir;
  std::string page = dir.write("50x.html", "<h1>down</h1>");
  std::string text = "app = \"a:app\"\nproxy_protocol = true\nproxy_allow_ips = \"10.0.0.0/8, 192.168.1.5\"\n"
                     "[http]\nmax_connections_per_ip = 20\n"
                     "[[rate_limit]]\nprefix = \"/api/\"\nrate = \"600/m\"\nburst = 20\n"
                     "[[rate_limit]]\nprefix = \"/login\"\nrate = \"5r/s\"\nmethods = [\"post\", \"PUT\"]\n"
                     "key = \"client_ip\"\n"
                     "[[error_page]]\nstatus = [502, 503, 504]\nfile = \"" + page + "\"\n"
                     "[[error_page]]\nstatus = 429\nfile = \"" + page + "\"\n";
  LoadResult r = load_file_only(dir.write("t.toml", text), 2);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_TRUE(c.proxy_protocol);
  EXPECT_EQ(c.proxy_allow_ips, (std::vector<std::string>{"10.0.0.0/8", "192.168.1.5"}));
  EXPECT_EQ(c.http.max_connections_per_ip, 20u);
  ASSERT_EQ(c.rate_limits.size(), 2u);
  EXPECT_EQ(c.rate_limits[0].prefix, "/api/");
  EXPECT_DOUBLE_EQ(c.rate_limits[0].per_second, 10.0);
  EXPECT_EQ(c.rate_limits[0].burst, 20u);
  EXPECT_TRUE(c.rate_limits[0].methods.empty());
  EXPECT_EQ(c.rate_limits[1].methods, (std::vector<std::string>{"POST", "PUT"}));
  EXPECT_DOUBLE_EQ(c.rate_limits[1].per_second, 5.0);
  ASSERT_EQ(c.error_pages.size(), 2u);
  EXPECT_EQ(c.error_pages[0].status, (std::vector<int>{502, 503, 504}));
  EXPECT_EQ(c.error_pages[1].status, (std::vector<int>{429}));

  std::string summary = to_toml(c);
  EXPECT_THAT(summary, HasSubstr("[[rate_limit]]\nprefix = \"/api/\"\nrate = \"600/m\"\nburst = 20\n"));
  EXPECT_THAT(summary, HasSubstr("[[error_page]]\nstatus = [502, 503, 504]\n"));
  LoadResult back = load_file_only(dir.write("back.toml", summary), 2);
  ASSERT_TRUE(back.errors.empty()) << all_errors(back);
  Config again = *back.config;
  again.config_file = c.config_file;
  EXPECT_EQ(to_toml(again), summary);
}

TEST(FrontdoorKeys, BadValuesPointAtTheirPlace) {
  TempDir dir;
  std::string path = dir.write("t.toml",
                               "app = \"a:app\"\n"
                               "proxy_allow_ips = [\"lb.example.com\"]\n"
                               "[[rate_limit]]\n"
                               "prefix = \"/api/\"\n"
                               "rate = \"10 per second\"\n"
                               "burts = 5\n"
                               "[[error_page]]\n"
                               "status = [502, \"503\"]\n"
                               "file = \"x.html\"\n");
  LoadResult r = load_file_only(path, 2);
  std::string e = all_errors(r);
  EXPECT_THAT(e, HasSubstr(path + ":2:20: proxy_allow_ips: expected IP addresses or CIDR ranges"));
  EXPECT_THAT(e, Not(HasSubstr("needs both prefix and rate")));  // it has a rate, a bad one
  EXPECT_THAT(e, HasSubstr(path + ":5:8: rate_limit[0].rate: expected a rate such as \"10/s\""));
  EXPECT_THAT(e, HasSubstr(path + ":6:1: unknown key 'rate_limit[0].burts' (did you mean 'burst'?)"));
  EXPECT_THAT(e, HasSubstr(path + ":8:16: error_page[0].status: expected HTTP status codes"));
}

TEST(FrontdoorKeys, CrossFieldRules) {
  TempDir dir;
  // An entry without a rate: the whole array is rejected, with the entry's place.
  std::string path = dir.write("t.toml",
                               "app = \"a:app\"\n"
                               "[[rate_limit]]\nprefix = \"/x\"\nrate = \"1/s\"\n"
                               "[[rate_limit]]\nprefix = \"/y\"\n");
  EXPECT_THAT(all_errors(load_file_only(path, 2)), HasSubstr(path + ":5:1: rate_limit[1]: needs both prefix and rate"));

  std::string path2 = dir.write("t2.toml",
                                "app = \"a:app\"\n"
                                "[[rate_limit]]\nprefix = \"api\"\nrate = \"1/s\"\nkey = \"cookie\"\n"
                                "[[rate_limit]]\nprefix = \"/x\"\nrate = \"1/s\"\nmethods = [\"GET\", \"POST\"]\n"
                                "[[rate_limit]]\nprefix = \"/x\"\nrate = \"2/s\"\nmethods = [\"POST\", \"GET\"]\n"
                                "[[rate_limit]]\nprefix = \"/x\"\nrate = \"2/s\"\nmethods = [\"POST\"]\n"
                                "[[error_page]]\nstatus = [200, 503]\nfile = \"" + dir.path() + "/missing.html\"\n"
                                "[[error_page]]\nstatus = [503]\nfile = \"" + dir.path() + "\"\n"
                                "[compression]\nlevel = 12\nenabled = true\nalgorithms = []\n");
  std::string e2 = all_errors(load_file_only(path2, 2));
  EXPECT_THAT(e2, HasSubstr("rate_limit[0].prefix: must start with '/', got 'api'"));
  EXPECT_THAT(e2, HasSubstr("rate_limit[0].key: only \"client_ip\" is supported, got 'cookie'"));
  EXPECT_THAT(e2, HasSubstr("rate_limit[2]: prefix '/x' with the same methods is already limited by rate_limit[1]"));
  EXPECT_THAT(e2, Not(HasSubstr("rate_limit[3]")));  // other methods: a rule of its own
  EXPECT_THAT(e2, HasSubstr("error_page[0].status: 200 is not a 4xx or 5xx status"));
  EXPECT_THAT(e2, HasSubstr("error_page[0].file: cannot use '" + dir.path() + "/missing.html': No such file"));
  EXPECT_THAT(e2, HasSubstr("error_page[1].status: 503 already has a page in error_page[0]"));
  EXPECT_THAT(e2, HasSubstr("error_page[1].file: '" + dir.path() + "' is not a regular file"));
  EXPECT_THAT(e2, HasSubstr("compression.level: must be 1..11, got 12"));
  EXPECT_THAT(e2, HasSubstr("compression.algorithms: must name \"br\" or \"gzip\" when compression is enabled"));
}

TEST(FrontdoorKeys, CompressionKeys) {
  TempDir dir;
  LoadResult r = load_file_only(
      dir.write("t.toml", "app = \"a:app\"\n[compression]\nenabled = true\nalgorithms = \"GZIP\"\n"
                          "min_size = \"4KiB\"\ntypes = [\"Text/HTML\", \"application/*\"]\nlevel = 9\n"),
      2);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.config->compression.enabled);
  EXPECT_EQ(r.config->compression.algorithms, std::vector<std::string>{"gzip"});
  EXPECT_EQ(r.config->compression.min_size, 4096u);
  EXPECT_EQ(r.config->compression.types, (std::vector<std::string>{"text/html", "application/*"}));
  EXPECT_EQ(r.config->compression.level, 9u);
  std::string path = dir.write("bad.toml", "app = \"a:app\"\n[compression]\ntypes = [\"html\"]\nalgorithms = [\"zstd\"]\n");
  std::string e = all_errors(load_file_only(path, 2));
  EXPECT_THAT(e, HasSubstr(path + ":3:10: compression.types: expected media types"));
  EXPECT_THAT(e, HasSubstr(path + ":4:15: compression.algorithms: expected \"br\" and/or \"gzip\""));
}

}  // namespace
}  // namespace hearth::config

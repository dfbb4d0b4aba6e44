#include "config/toml_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/defaults.h"

namespace hearth::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::chrono::seconds;

struct Read {
  Config cfg = default_config();
  Provenance prov;
  std::vector<std::string> errors;
  bool parsed = false;
};

Read read(const std::string& text) {
  Read r;
  r.parsed = read_toml(text, "t.toml", r.cfg, r.prov, r.errors);
  return r;
}

TEST(TomlSource, EmptyFileKeepsDefaults) {
  Read r = read("");
  EXPECT_TRUE(r.parsed);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.cfg.config_file, "t.toml");
  EXPECT_EQ(r.cfg.binds.size(), 1u);
  EXPECT_EQ(r.cfg.binds[0].text, "127.0.0.1:8000");
  EXPECT_EQ(r.cfg.http.max_body_size, 10u * 1024 * 1024);
}

TEST(TomlSource, EveryKey) {
  Read r = read(R"(
app = "site.wsgi:application"
python = "/venv/bin/python"
chdir = "/srv/site"
pythonpath = ["/srv/lib", "/srv/vendor"]
preload = false
env = { DJANGO_SETTINGS_MODULE = "site.settings", EMPTY = "" }
bind = ["127.0.0.1:9000", "unix:/run/site.sock"]
admin_bind = "127.0.0.1:9100"
control_socket = "/run/hearth.ctl"
workers = 3
threads = 4
max_queue = 10
queue_timeout = "5s"
timeout = 60
graceful_timeout = 2.5
boot_timeout = "2m"
forwarded_allow_ips = "10.0.0.1, 10.0.0.0/8"
temp_dir = "/var/tmp"

[http]
keepalive_timeout = "250ms"
header_timeout = "1m30s"
body_timeout = 7
send_timeout = "1h"
max_header_size = "16KiB"
max_headers = 50
max_body_size = "1MB"
body_buffer_size = 4096
response_buffer_size = "2M"
server_header = ""

[log]
level = "debug"
access_log = "/var/log/access.log"
access_log_format = "json"
)");
  ASSERT_TRUE(r.errors.empty()) << ::testing::PrintToString(r.errors);
  const Config& c = r.cfg;
  EXPECT_EQ(c.app, "site.wsgi:application");
  EXPECT_EQ(c.python, "/venv/bin/python");
  EXPECT_EQ(c.chdir, "/srv/site");
  EXPECT_THAT(c.pythonpath, ElementsAre("/srv/lib", "/srv/vendor"));
  EXPECT_FALSE(c.preload);
  EXPECT_EQ(c.env.at("DJANGO_SETTINGS_MODULE"), "site.settings");
  EXPECT_EQ(c.env.at("EMPTY"), "");
  ASSERT_EQ(c.binds.size(), 2u);
  EXPECT_EQ(c.binds[0].port, 9000);
  EXPECT_EQ(c.binds[1].kind, Bind::Kind::Unix);
  EXPECT_EQ(c.binds[1].path, "/run/site.sock");
  ASSERT_TRUE(c.admin_bind);
  EXPECT_EQ(c.admin_bind->port, 9100);
  EXPECT_EQ(c.control_socket, "/run/hearth.ctl");
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.max_queue, 10u);
  EXPECT_EQ(c.queue_timeout, seconds(5));
  EXPECT_EQ(c.timeout, seconds(60));
  EXPECT_EQ(c.graceful_timeout, Millis(2500));
  EXPECT_EQ(c.boot_timeout, seconds(120));
  EXPECT_THAT(c.forwarded_allow_ips, ElementsAre("10.0.0.1", "10.0.0.0/8"));
  EXPECT_EQ(c.temp_dir, "/var/tmp");
  EXPECT_EQ(c.http.keepalive_timeout, Millis(250));
  EXPECT_EQ(c.http.header_timeout, seconds(90));
  EXPECT_EQ(c.http.body_timeout, seconds(7));
  EXPECT_EQ(c.http.send_timeout, seconds(3600));
  EXPECT_EQ(c.http.max_header_size, 16u * 1024);
  EXPECT_EQ(c.http.max_headers, 50u);
  EXPECT_EQ(c.http.max_body_size, 1'000'000u);
  EXPECT_EQ(c.http.body_buffer_size, 4096u);
  EXPECT_EQ(c.http.response_buffer_size, 2u * 1024 * 1024);
  EXPECT_EQ(c.http.server_header, "");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.access_log, "/var/log/access.log");
  EXPECT_EQ(c.log.access_log_format, "json");
}

TEST(TomlSource, StringFormsOfLists) {
  Read r = read("pythonpath = \"/a,/b\"\nbind = \":9000\"\nforwarded_allow_ips = [\"*\"]\n");
  ASSERT_TRUE(r.errors.empty()) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(r.cfg.pythonpath, ElementsAre("/a", "/b"));
  ASSERT_EQ(r.cfg.binds.size(), 1u);
  EXPECT_EQ(r.cfg.binds[0].host, "0.0.0.0");
  EXPECT_THAT(r.cfg.forwarded_allow_ips, ElementsAre("*"));
}

TEST(TomlSource, UnknownKeyWithPositionAndSuggestion) {
  Read r = read("[http]\nmax_bodysize = \"1MiB\"\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "t.toml:2:1: unknown key 'http.max_bodysize' (did you mean 'http.max_body_size'?)");
}

TEST(TomlSource, UnknownKeyWithoutCloseMatchHasNoSuggestion) {
  Read r = read("\n\n  frobnicate = 1\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "t.toml:3:3: unknown key 'frobnicate'");
}

TEST(TomlSource, KeyInTheWrongSectionSuggestsTheRightOne) {
  Read r = read("max_body_size = \"1MiB\"\n[log]\naccess_logfile = \"-\"\n[http]\nworkers = 2\n");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0], "t.toml:1:1: unknown key 'max_body_size' (did you mean 'http.max_body_size'?)");
  EXPECT_EQ(r.errors[1], "t.toml:3:1: unknown key 'log.access_logfile' (did you mean 'log.access_log'?)");
  EXPECT_EQ(r.errors[2], "t.toml:5:1: unknown key 'http.workers' (did you mean 'workers'?)");
}

TEST(TomlSource, UnknownSectionIsReportedOnce) {
  Read r = read("[htp]\nmax_body_size = 1\nmax_headers = 2\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], HasSubstr("unknown key 'htp' (did you mean 'http'?)"));
}

TEST(TomlSource, BadValueNamesKeyPositionAndValue) {
  Read r = read("[http]\nmax_body_size = \"10 potatoes\"\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "t.toml:2:17: http.max_body_size: expected a size such as 10MiB, got \"10 potatoes\"");
  EXPECT_EQ(r.cfg.http.max_body_size, 10u * 1024 * 1024) << "a rejected value keeps the default";
}

TEST(TomlSource, TypeErrors) {
  Read r = read(R"(workers = "4"
threads = 2.0
preload = "yes"
app = 5
timeout = true
max_queue = -1
bind = 8000
env = "A=B"
http = 3
forwarded_allow_ips = ["10.0.0.1", 7]
)");
  EXPECT_THAT(r.errors,
              ElementsAre("t.toml:1:11: workers: expected a non-negative integer, got \"4\"",
                          "t.toml:2:11: threads: expected a non-negative integer, got 2.0",
                          "t.toml:3:11: preload: expected true or false, got \"yes\"",
                          "t.toml:4:7: app: expected a string, got 5",
                          HasSubstr("t.toml:5:11: timeout: expected a duration such as 30s"),
                          "t.toml:6:13: max_queue: expected a non-negative integer, got -1",
                          HasSubstr("t.toml:7:8: bind: expected an address such as 127.0.0.1:8000"),
                          HasSubstr("t.toml:8:7: env: expected a table of strings"),
                          "t.toml:9:8: http: expected a table ([http]), got 3",
                          HasSubstr("t.toml:10:36: forwarded_allow_ips: expected IP addresses")));
}

TEST(TomlSource, BadValues) {
  Read r = read(R"(timeout = -5
graceful_timeout = "soon"
bind = ["127.0.0.1:8000", "example.com:80"]
admin_bind = "unix:"
workers = 5000000000
[http]
max_headers = "many"
max_header_size = -1
[log]
level = "verbose"
access_log_format = "common"
[env]
A = 1
)");
  EXPECT_THAT(r.errors,
              ElementsAre(HasSubstr("t.toml:1:11: timeout: expected a duration"),
                          HasSubstr("t.toml:2:20: graceful_timeout: expected a duration"),
                          HasSubstr("t.toml:3:27: bind: expected an address"),
                          HasSubstr("t.toml:4:14: admin_bind: expected an address"),
                          HasSubstr("t.toml:5:11: workers: must be at most 4294967295, got 5000000000"),
                          "t.toml:7:15: http.max_headers: expected a non-negative integer, got \"many\"",
                          "t.toml:8:19: http.max_header_size: expected a size such as 10MiB, got -1",
                          "t.toml:10:9: log.level: expected one of error, warn, info, debug, got \"verbose\"",
                          "t.toml:11:21: log.access_log_format: expected combined or json, got \"common\"",
                          "t.toml:13:5: env.A: expected a string, got 1"));
  // Nothing rejected was half-applied.
  EXPECT_EQ(r.cfg.binds.size(), 1u);
  EXPECT_EQ(r.cfg.binds[0].text, "127.0.0.1:8000");
  EXPECT_TRUE(r.cfg.env.empty());
  EXPECT_FALSE(r.cfg.admin_bind);
}

TEST(TomlSource, ErrorsAreCollectedInSourceOrder) {
  // toml++ iterates keys alphabetically; messages must still follow the file.
  Read r = read("zzz = 1\nworkers = \"x\"\naaa = 2\n");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_THAT(r.errors[0], HasSubstr("t.toml:1:1: unknown key 'zzz'"));
  EXPECT_THAT(r.errors[1], HasSubstr("t.toml:2:11: workers:"));
  EXPECT_THAT(r.errors[2], HasSubstr("t.toml:3:1: unknown key 'aaa'"));
}

TEST(TomlSource, SyntaxErrorHasPosition) {
  Read r = read("workers = 2\nbind = = 3\n");
  EXPECT_FALSE(r.parsed);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], ::testing::StartsWith("t.toml:2:8: "));
}

TEST(TomlSource, LogLevelAliases) {
  EXPECT_EQ(read("[log]\nlevel = \"WARNING\"\n").cfg.log.level, "warn");
  EXPECT_EQ(read("[log]\nlevel = \"critical\"\n").cfg.log.level, "error");
}

TEST(TomlSource, ProvenanceRecordsPosition) {
  Read r = read("\n  timeout = 3\n");
  EXPECT_EQ(r.prov.label("timeout"), "t.toml:2:13: timeout");
  EXPECT_EQ(r.prov.label("threads"), "threads");
}

TEST(SuggestKey, Distance) {
  EXPECT_EQ(suggest_key("worker"), "workers");
  EXPECT_EQ(suggest_key("http.keepalive_timout"), "http.keepalive_timeout");
  EXPECT_EQ(suggest_key("completely_else"), "");
  EXPECT_EQ(suggest_key("log.timeout"), "timeout");
  EXPECT_EQ(suggest_key("log.access_logfile"), "log.access_log");  // gunicorn's name
  EXPECT_EQ(suggest_key("http.max_body"), "http.max_body_size");
}

TEST(TomlSource, UnterminatedStringSaysSo) {
  Read r = read("app = \"x:app\nworkers = 2\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], ::testing::StartsWith("t.toml:1:"));
  EXPECT_THAT(r.errors[0], ::testing::HasSubstr("unterminated string: the closing quote is missing"));
  Read lit = read("app = 'x:app\n");
  ASSERT_EQ(lit.errors.size(), 1u);
  EXPECT_THAT(lit.errors[0], ::testing::HasSubstr("unterminated string"));
  Read other = read("app = = 1\n");  // another syntax error keeps toml++'s words
  ASSERT_EQ(other.errors.size(), 1u);
  EXPECT_THAT(other.errors[0], ::testing::Not(::testing::HasSubstr("unterminated")));
}

TEST(TomlSource, ProcessAndLogKeys) {
  Read r = read("pid_file = \"/run/h.pid\"\nproc_name = \"web\"\numask = 0o027\n"
                "[http]\nbacklog = 128\nmax_request_line = \"8KiB\"\nmax_header_field_size = 8190\n"
                "[log]\nerror_log = \"/var/log/h.log\"\ncapture_output = true\n");
  ASSERT_TRUE(r.errors.empty()) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.cfg.pid_file, "/run/h.pid");
  EXPECT_EQ(r.cfg.proc_name, "web");
  EXPECT_EQ(r.cfg.umask, 027);
  EXPECT_EQ(r.cfg.http.backlog, 128u);
  EXPECT_EQ(r.cfg.http.max_request_line, 8192u);
  EXPECT_EQ(r.cfg.http.max_header_field_size, 8190u);
  EXPECT_EQ(r.cfg.log.error_log, "/var/log/h.log");
  EXPECT_TRUE(r.cfg.log.capture_output);
  EXPECT_EQ(read("umask = \"0027\"\n").cfg.umask, 027);
  EXPECT_EQ(read("umask = \"9\"\n").errors.size(), 1u);
  EXPECT_EQ(read("umask = 4096\n").errors.size(), 1u);
}

}  // namespace
}  // namespace hearth::config

#include "config/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/schema.h"

#include <sstream>

namespace hearth::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::chrono::seconds;

LoadResult run(std::vector<std::string> args) {
  LoadInputs in;
  in.args = std::move(args);
  in.cores = 4;
  return load(in);
}

// Loads `args` (plus an APP) and returns the config, failing the test on errors.
Config ok(std::vector<std::string> args) {
  args.push_back("app:wsgi");
  LoadResult r = run(args);
  EXPECT_TRUE(r.errors.empty()) << ::testing::PrintToString(r.errors);
  return r.config ? *r.config : Config{};
}

std::vector<std::string> errors_of(std::vector<std::string> args) {
  args.push_back("app:wsgi");
  LoadResult r = run(args);
  EXPECT_FALSE(r.config);
  return r.errors;
}

// A flag row without code of its own takes its value through the key's
// schema Field: that Field must be of a kind a flag value can set.
TEST(Cli, FlagsWithoutApplyHaveASettableKey) {
  using Kind = Field::Kind;
  int from_schema = 0;
  for (const auto& f : flag_infos()) {
    if (!f.from_schema) continue;
    ++from_schema;
    const KeySpec* k = find_key(f.key);
    ASSERT_NE(k, nullptr) << f.synopsis;
    Kind kind = k->field.kind;
    EXPECT_TRUE(kind == Kind::String || kind == Kind::Secret || kind == Kind::Count || kind == Kind::Count64 ||
                kind == Kind::Size || kind == Kind::Duration || kind == Kind::Choice)
        << f.synopsis << " sets " << f.key << ", whose Field a flag value cannot set: give the row an apply function";
  }
  EXPECT_GE(from_schema, 15);
}

// The words of a flag set through the schema are the config file's.
TEST(Cli, FlagsSetThroughTheSchemaSayWhatTheyExpected) {
  EXPECT_THAT(errors_of({"--max-body-size", "lots"}),
              ::testing::ElementsAre("--max-body-size: expected a size such as 10MiB, got 'lots'"));
  EXPECT_THAT(errors_of({"--log-level", "loud"}),
              ::testing::ElementsAre("--log-level: expected one of error, warn, info, debug, got 'loud'"));
  EXPECT_THAT(errors_of({"--max-requests", "18446744073709551616"}),
              ::testing::ElementsAre("--max-requests: expected a non-negative integer at most 18446744073709551615, "
                                     "got '18446744073709551616'"));
  Config c = ok({"--access-log-format", "JSON", "--max-requests", "7", "--keep-alive", "2s",
                 "--python", "/opt/py", "--max-body-size", "1MiB"});
  EXPECT_EQ(c.log.access_log_format, "json");
  EXPECT_EQ(c.max_requests, 7u);
  EXPECT_EQ(c.http.keepalive_timeout.count(), 2000);
  EXPECT_EQ(c.python, "/opt/py");
  EXPECT_EQ(c.http.max_body_size, 1u << 20);
}

TEST(Cli, PositionalApp) {
  LoadResult r = run({"myproject.wsgi:application"});
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.action, Action::Run);
  EXPECT_EQ(r.config->app, "myproject.wsgi:application");
}

TEST(Cli, Bind) {
  Config c = ok({"-b", "127.0.0.1:9000", "--bind", "unix:/tmp/a.sock", "--bind=[::1]:9001", "-b:9002"});
  ASSERT_EQ(c.binds.size(), 4u);
  EXPECT_EQ(c.binds[0].text, "127.0.0.1:9000");
  EXPECT_EQ(c.binds[1].path, "/tmp/a.sock");
  EXPECT_EQ(c.binds[2].host, "::1");
  EXPECT_EQ(c.binds[3].host, "0.0.0.0");
  EXPECT_EQ(c.binds[3].port, 9002);
}

TEST(Cli, WorkersAndThreads) {
  EXPECT_EQ(ok({"-w", "3"}).workers, 3u);
  EXPECT_EQ(ok({"-w5"}).workers, 5u);
  EXPECT_EQ(ok({"--workers=6"}).workers, 6u);
  EXPECT_EQ(ok({"--workers", "0"}).workers, 9u) << "0 = 2 x cores + 1";
  EXPECT_EQ(ok({"--threads", "8"}).threads, 8u);
  EXPECT_EQ(ok({"--max-queue", "0"}).max_queue, 0u);
  EXPECT_EQ(ok({"--max-queue=77"}).max_queue, 77u);
  EXPECT_EQ(ok({"--max-requests", "1000"}).max_requests, 1000u);
  EXPECT_EQ(ok({"--max-requests-jitter=50"}).max_requests_jitter, 50u);
}

TEST(Cli, Preload) {
  EXPECT_TRUE(ok({"--preload"}).preload);
  EXPECT_FALSE(ok({"--no-preload"}).preload);
  EXPECT_TRUE(ok({"--no-preload", "--preload"}).preload) << "last one wins";
}

TEST(Cli, Durations) {
  EXPECT_EQ(ok({"-t", "90"}).timeout, seconds(90));
  EXPECT_EQ(ok({"--timeout=1m"}).timeout, seconds(60));
  EXPECT_EQ(ok({"--graceful-timeout", "5s"}).graceful_timeout, seconds(5));
  EXPECT_EQ(ok({"--boot-timeout", "10m"}).boot_timeout, seconds(600));
  EXPECT_EQ(ok({"--queue-timeout", "250ms"}).queue_timeout, Millis(250));
  EXPECT_EQ(ok({"--keep-alive", "2"}).http.keepalive_timeout, seconds(2));
}

TEST(Cli, ApplicationFlags) {
  Config c = ok({"--chdir", "/srv", "--python", "/venv/bin/python", "--pythonpath", "/a,/b", "--pythonpath=/c",
                 "--env", "A=1", "-e", "B=x=y", "--env=C="});
  EXPECT_EQ(c.chdir, "/srv");
  EXPECT_EQ(c.python, "/venv/bin/python");
  EXPECT_THAT(c.pythonpath, ElementsAre("/a", "/b", "/c"));
  EXPECT_EQ(c.env.at("A"), "1");
  EXPECT_EQ(c.env.at("B"), "x=y");
  EXPECT_EQ(c.env.at("C"), "");
}

TEST(Cli, ListenerFlags) {
  Config c = ok({"--admin-bind", "127.0.0.1:9100", "--control-socket", "/run/h.sock", "--forwarded-allow-ips",
                 "10.0.0.1,10.0.0.0/8"});
  ASSERT_TRUE(c.admin_bind);
  EXPECT_EQ(c.admin_bind->port, 9100);
  EXPECT_EQ(c.control_socket, "/run/h.sock");
  EXPECT_THAT(c.forwarded_allow_ips, ElementsAre("10.0.0.1", "10.0.0.0/8"));
  EXPECT_THAT(ok({"--forwarded-allow-ips=*"}).forwarded_allow_ips, ElementsAre("*"));
}

TEST(Cli, LoggingAndHttpFlags) {
  Config c = ok({"--log-level", "DEBUG", "--access-logfile", "-", "--access-log-format", "json",
                 "--max-body-size", "1GiB"});
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.access_log, "-");
  EXPECT_EQ(c.log.access_log_format, "json");
  EXPECT_EQ(c.http.max_body_size, 1ull << 30);
  EXPECT_EQ(ok({"--access-logfile="}).log.access_log, "") << "empty turns the access log off";
  EXPECT_EQ(ok({"--access-logfile", "/var/log/a.log"}).log.access_log, "/var/log/a.log");
}

TEST(Cli, Actions) {
  LoadResult h = run({"--workers", "nonsense", "-h"});
  EXPECT_EQ(h.action, Action::Help);
  EXPECT_TRUE(h.errors.empty());
  EXPECT_THAT(h.help_text, HasSubstr("usage: hearthd"));
  EXPECT_EQ(run({"--help"}).action, Action::Help);
  EXPECT_EQ(run({"-v"}).action, Action::Version);
  EXPECT_EQ(run({"--version"}).action, Action::Version);
  LoadResult ref = run({"--print-config-reference"});
  EXPECT_EQ(ref.action, Action::PrintReference);
  EXPECT_TRUE(ref.errors.empty());
  EXPECT_THAT(ref.help_text, HasSubstr("| `max_body_size` | size |"));
  LoadResult c = run({"--check-config", "app:wsgi"});
  EXPECT_EQ(c.action, Action::CheckConfig);
  EXPECT_TRUE(c.config);
  LoadResult missing = run({"--check-config"});
  EXPECT_EQ(missing.action, Action::CheckConfig);
  EXPECT_THAT(missing.errors, ElementsAre("no application given: pass MODULE:CALLABLE or set app in the config file"));
}

TEST(Cli, BadValuesNameTheFlagAndValue) {
  EXPECT_THAT(errors_of({"--workers", "x"}), ElementsAre("--workers: expected a non-negative integer, got 'x'"));
  EXPECT_THAT(errors_of({"-w", "-1"}), ElementsAre("-w: expected a non-negative integer, got '-1'"));
  // Out of range (all digits): the message says the bound (issue 16).
  EXPECT_THAT(errors_of({"--workers", "99999999999"}),
              ElementsAre("--workers: expected a non-negative integer at most 4294967295, got '99999999999'"));
  EXPECT_THAT(errors_of({"--timeout=soon"}), ElementsAre(HasSubstr("--timeout: expected a duration")));
  EXPECT_THAT(errors_of({"-b", "nowhere:80"}), ElementsAre(HasSubstr("-b: expected an address such as")));
  EXPECT_THAT(errors_of({"--max-body-size", "10 potatoes"}),
              ElementsAre("--max-body-size: expected a size such as 10MiB, got '10 potatoes'"));
  EXPECT_THAT(errors_of({"--log-level", "loud"}), ElementsAre(HasSubstr("--log-level: expected one of")));
  EXPECT_THAT(errors_of({"--access-log-format", "common"}), ElementsAre(HasSubstr("--access-log-format:")));
  EXPECT_THAT(errors_of({"--env", "NOEQUALS"}), ElementsAre("--env: expected KEY=VALUE, got 'NOEQUALS'"));
  EXPECT_THAT(errors_of({"--pythonpath", "/a,,/b"}), ElementsAre(HasSubstr("--pythonpath: expected")));
  EXPECT_THAT(errors_of({"--forwarded-allow-ips", "a.b"}), ElementsAre(HasSubstr("--forwarded-allow-ips:")));
  EXPECT_THAT(errors_of({"--max-requests", "1e3"}),
              ElementsAre("--max-requests: expected a non-negative integer, got '1e3'"));
  EXPECT_THAT(errors_of({"--admin-bind", "x"}), ElementsAre(HasSubstr("--admin-bind: expected an address")));
}

TEST(Cli, SyntaxErrorsNameTheFlag) {
  // An unknown flag's value cannot be told from the APP; both are reported.
  EXPECT_THAT(run({"--wrokers", "3", "app:wsgi"}).errors,
              ElementsAre("--wrokers: unknown option (did you mean --workers?)",
                          "unexpected argument 'app:wsgi': only one APP may be given",
                          HasSubstr("APP: expected MODULE:CALLABLE or MODULE:FACTORY()")));
  EXPECT_THAT(errors_of({"-x"}), ElementsAre("-x: unknown option (see --help)"));
  EXPECT_THAT(run({"app:wsgi", "--bind"}).errors, ElementsAre("--bind: missing value (ADDR)"));
  EXPECT_THAT(run({"-w"}).errors, ::testing::Contains("-w: missing value (N)"));
  EXPECT_THAT(errors_of({"--bind", "--workers", "2"}), ElementsAre("--bind: missing value (ADDR)"));
  EXPECT_THAT(errors_of({"--preload=yes"}), ElementsAre("--preload: takes no value"));
  EXPECT_THAT(errors_of({"other:app"}), ElementsAre("unexpected argument 'app:wsgi': only one APP may be given"));
}

TEST(Cli, CollectsEveryError) {
  LoadResult r = run({"--workers", "x", "--threads", "y", "--zzzzzz"});
  EXPECT_THAT(r.errors, ElementsAre("--zzzzzz: unknown option (see --help)",
                                    "--workers: expected a non-negative integer, got 'x'",
                                    "--threads: expected a non-negative integer, got 'y'",
                                    "no application given: pass MODULE:CALLABLE or set app in the config file"));
}

TEST(Cli, DoubleDashEndsOptions) {
  CommandLine cl = parse_command_line({"--", "-weird:app"});
  EXPECT_TRUE(cl.errors.empty());
  ASSERT_EQ(cl.settings.size(), 1u);
  EXPECT_EQ(cl.settings[0].value, "-weird:app");
}

TEST(Cli, ParseCommandLineFindsConfigAndOverrides) {
  CommandLine cl = parse_command_line({"-c", "a.toml", "-b", ":1", "-w", "2"});
  EXPECT_EQ(cl.config_file, "a.toml");
  EXPECT_TRUE(cl.sets_bind);
  EXPECT_TRUE(cl.sets_workers);
  EXPECT_EQ(parse_command_line({"--config=b.toml"}).config_file, "b.toml");
  EXPECT_FALSE(parse_command_line({}).sets_bind);
}

TEST(Cli, HelpListsEveryFlagWithDefaults) {
  std::string help = help_text();
  for (const auto& flag : long_flags()) EXPECT_THAT(help, HasSubstr(flag)) << flag;
  EXPECT_EQ(long_flags().size(), 53u);
  EXPECT_THAT(help, HasSubstr("--certfile FILE"));
  EXPECT_THAT(help, HasSubstr("-w, --workers N"));
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 79u) << line;
  EXPECT_THAT(help, HasSubstr("[default: 30s]"));
  EXPECT_THAT(help, HasSubstr("[default: 10MiB]"));
  EXPECT_THAT(help, HasSubstr("[default: 127.0.0.1:8000"));
  EXPECT_THAT(help, HasSubstr("[default: 2 x CPUs + 1]"));
  EXPECT_THAT(help, HasSubstr("[default: /usr/bin/python3]"));
  for (const char* group : {"General:", "Application:", "Listeners:", "Workers:", "Timeouts:", "HTTP:", "Logging:", "Privileges:",
                            "Environment:"}) {
    EXPECT_THAT(help, HasSubstr(group));
  }
}

}  // namespace
}  // namespace hearth::config

namespace hearth::config {
namespace {

// --- gunicorn command lines (issue 15) ---

TEST(CliGunicorn, AcceptedFlagsLandOnTheirKeys) {
  Config c = ok({"-k", "gthread", "--threads", "4", "--error-logfile", "/var/log/h/error.log", "--capture-output",
                 "--pid", "/run/h.pid", "--limit-request-line", "4094", "--limit-request-fields", "50",
                 "--limit-request-field_size", "8190", "--backlog", "64", "--worker-tmp-dir", "/dev/shm",
                 "--name", "myapp", "--umask", "027"});
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.log.error_log, "/var/log/h/error.log");
  EXPECT_TRUE(c.log.capture_output);
  EXPECT_EQ(c.pid_file, "/run/h.pid");
  EXPECT_EQ(c.http.max_request_line, 4094u);
  EXPECT_EQ(c.http.max_headers, 50u);
  EXPECT_EQ(c.http.max_header_field_size, 8190u);
  EXPECT_EQ(c.http.backlog, 64u);
  EXPECT_EQ(c.proc_name, "myapp");
  EXPECT_EQ(c.umask, 027);
  EXPECT_EQ(ok({"--log-file", "-"}).log.error_log, "-");
  EXPECT_EQ(ok({"-k", "sync"}).threads, 1u);
  EXPECT_EQ(ok({"-p", "/tmp/x.pid", "-n", "web", "-m", "0o077"}).umask, 077);
}

TEST(CliGunicorn, RefusedFlagsNameTheEquivalentOnce) {
  auto one = [](std::vector<std::string> args) {
    auto e = errors_of(std::move(args));
    EXPECT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
    return e.empty() ? std::string() : e[0];
  };
  EXPECT_THAT(one({"--reload"}), HasSubstr("use `hearthctl reload`"));
  EXPECT_THAT(one({"--reload"}), ::testing::Not(HasSubstr("did you mean")));
  EXPECT_THAT(one({"-D"}), HasSubstr("runs in the foreground"));
  EXPECT_THAT(one({"--daemon"}), HasSubstr("runs in the foreground"));
  // The value is consumed: no second "only one APP may be given".
  EXPECT_THAT(one({"--worker-connections", "1000"}), HasSubstr("--threads N"));
  EXPECT_THAT(one({"--statsd-host", "localhost:8125"}), HasSubstr("--admin-bind"));
  EXPECT_THAT(one({"--access-logformat", "%(h)s"}), HasSubstr("--access-log-format combined or json"));
  EXPECT_THAT(one({"--access-logformat=%(h)s"}), HasSubstr("--access-log-format"));
  EXPECT_THAT(one({"-k", "uvicorn.workers.SomeOtherWorker"}), HasSubstr("hearthd serves ASGI apps itself"));
  EXPECT_THAT(one({"--worker-class", "gevent"}), HasSubstr("sync workers with --threads N"));
  EXPECT_THAT(one({"-k", "gthread", "--reload"}), HasSubstr("hearthctl reload"));
}

TEST(CliGunicorn, UvicornWorkerClassMeansAsgi) {
  EXPECT_EQ(ok({"-k", "uvicorn.workers.UvicornWorker"}).interface, "asgi");
  EXPECT_EQ(ok({"--worker-class", "uvicorn.workers.UvicornH11Worker"}).interface, "asgi");
  EXPECT_EQ(ok({"-k", "sync"}).interface, "auto");
  Config c = ok({"--interface", "WSGI", "--concurrency", "32", "--lifespan", "off"});
  EXPECT_EQ(c.interface, "wsgi");
  EXPECT_EQ(c.concurrency, 32u);
  EXPECT_EQ(c.lifespan, "off");
  EXPECT_THAT(errors_of({"--interface", "cgi"}), ElementsAre(HasSubstr("one of wsgi, asgi, auto")));
  EXPECT_THAT(errors_of({"--lifespan", "maybe"}), ElementsAre(HasSubstr("one of auto, on, off")));
  EXPECT_THAT(errors_of({"--concurrency", "0"}), ElementsAre(HasSubstr("concurrency")));
  EXPECT_THAT(errors_of({"--concurrency", "257"}), ElementsAre(HasSubstr("at most 256")));
}

TEST(CliGunicorn, ValuesAreChecked) {
  EXPECT_THAT(errors_of({"--limit-request-fields", "0"}), ElementsAre(HasSubstr("from 1 to 32768")));
  EXPECT_THAT(errors_of({"--limit-request-fields", "40000"}), ElementsAre(HasSubstr("from 1 to 32768")));
  EXPECT_THAT(errors_of({"--umask", "0999"}), ElementsAre(HasSubstr("octal mask")));
  EXPECT_THAT(errors_of({"--backlog", "0"}), ElementsAre(HasSubstr("backlog")));
  EXPECT_THAT(errors_of({"--name", "a-much-too-long-name"}), ElementsAre(HasSubstr("15 bytes")));
  EXPECT_THAT(errors_of({"--error-logfile", ""}), ElementsAre(HasSubstr("a file path or - for stderr")));
}

TEST(CliHelp, EachGroupOnce) {
  std::string h = help_text();
  for (const char* g : {"\nGeneral:\n", "\nListeners:\n", "\nWorkers:\n", "\nLogging:\n", "\nHTTP:\n"}) {
    size_t first = h.find(g);
    ASSERT_NE(first, std::string::npos) << g;
    EXPECT_EQ(h.find(g, first + 1), std::string::npos) << g << " listed twice";
  }
}

TEST(Loader, KeepwarmJitterFollowsTheInterval) {
  Config c = ok({});
  EXPECT_EQ(c.keepwarm.jitter, c.keepwarm.interval / 10);
}

}  // namespace
}  // namespace hearth::config

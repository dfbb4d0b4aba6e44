// hearthd: argv, exit codes and wiring only.
//   0  clean shutdown / --check-config OK
//   1  start-up failure (bind, missing interpreter or runtime, privilege drop)
//   2  configuration errors; refusing to run the app as root (docs/security.md)
//   3  the app could not be loaded
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/daemon.h"
#include "app/privileges.h"
#include "build_info.h"
#include "build_version.h"
#include "config/cpus.h"
#include "config/loader.h"
#include "config/summary.h"
#include "lazylibs/compression_libraries.h"
#include "tls/openssl_loader.h"
#include "tls/openssl_needs.h"
#include "tls/server_context.h"

extern char** environ;

namespace {

// plugins/python next to the build tree, or the installed share/hearth/python.
std::string default_runtime_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share/hearth/python";
    if (fs::exists(installed / "hearth_zygote.py", ec)) return installed.string();
  }
  if (fs::exists(fs::path(hearth::build::kSourceRuntimeDir) / "hearth_zygote.py", ec))
    return hearth::build::kSourceRuntimeDir;
  return hearth::build::kInstalledRuntimeDir;
}

std::string read_small_file(const std::string& path) {
  std::ifstream f(path);
  std::ostringstream o;
  o << f.rdbuf();
  return o.str();
}

// CPUs this process may run on (affinity mask), lowered by a cgroup v2 quota.
unsigned usable_cpus() {
  long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  CPU_ZERO(&set);
  unsigned affinity = ::sched_getaffinity(0, sizeof set, &set) == 0 ? static_cast<unsigned>(CPU_COUNT(&set)) : 0;
  std::optional<std::string> cpu_max;
  std::string cg = read_small_file("/proc/self/cgroup");
  if (auto path = hearth::config::cgroup_v2_path(cg)) {
    std::string text = read_small_file("/sys/fs/cgroup" + std::string(*path) + "/cpu.max");
    if (!text.empty()) cpu_max = text;
  }
  return hearth::config::usable_cpus(affinity, online > 0 ? static_cast<unsigned>(online) : 1,
                                     cpu_max ? std::optional<std::string_view>(*cpu_max) : std::nullopt);
}

}  // namespace

int main(int argc, char** argv) {
  hearth::config::LoadInputs in;
  for (int i = 1; i < argc; ++i) in.args.emplace_back(argv[i]);
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) in.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  in.cores = usable_cpus();
  in.default_runtime_dir = default_runtime_dir();

  hearth::config::LoadResult r = hearth::config::load(in);
  switch (r.action) {
    case hearth::config::Action::Help:
    case hearth::config::Action::PrintReference:
      std::fputs(r.help_text.c_str(), stdout);
      return 0;
    case hearth::config::Action::Version:
      std::fputs(hearth::build::version_text("hearthd").c_str(), stdout);
      return 0;
    default:
      break;
  }
  if (!r.errors.empty()) {
    for (auto& e : r.errors) std::fprintf(stderr, "hearthd: %s\n", e.c_str());
    std::fprintf(stderr, "hearthd: %zu configuration error(s)%s\n", r.errors.size(),
                 r.action == hearth::config::Action::Run ? "; not starting" : "");
    return 2;
  }
  if (auto keys = hearth::tls::keys_needing_openssl(r.config); !keys.empty()) {
    // hearthd loads OpenSSL only now, when something needs it (tls/openssl_loader.h):
    // a machine without libssl3 gets a configuration error naming the key.
    std::string error;
    if (!hearth::tls::load_openssl(error)) {
      std::fprintf(stderr, "hearthd: %s: %s\n", keys.front().c_str(), error.c_str());
      std::fprintf(stderr, "hearthd: 1 configuration error(s)%s\n",
                   r.action == hearth::config::Action::Run ? "; not starting" : "");
      return 2;
    }
  }
  if (std::string error = hearth::lazylibs::load_compression_libraries(r.config->compression); !error.empty()) {
    // zlib and brotli are loaded only now, when [compression] uses them
    // (lazylibs/libraries.h): a missing one is a configuration error.
    std::fprintf(stderr, "hearthd: %s\n", error.c_str());
    std::fprintf(stderr, "hearthd: 1 configuration error(s)%s\n",
                 r.action == hearth::config::Action::Run ? "; not starting" : "");
    return 2;
  }
  if (r.config->tls.enabled()) {
    // The certificate and key are loaded like the daemon will (readable, PEM,
    // matching each other, cipher list usable): a configuration error.
    auto t = hearth::tls::make_server_context(r.config->tls, r.config->http.h2_enabled);
    if (!t.context) {
      std::fprintf(stderr, "hearthd: %s\n", t.error.c_str());
      std::fprintf(stderr, "hearthd: 1 configuration error(s)%s\n",
                   r.action == hearth::config::Action::Run ? "; not starting" : "");
      return 2;
    }
  }
  if (r.action == hearth::config::Action::CheckConfig && ::geteuid() == 0 && r.config->user.empty()) {
    // The refusal a real start makes as root without `user` (unless allow_root).
    auto plan = hearth::app::plan_privileges(::geteuid(), ::getegid(), *r.config, hearth::app::system_accounts());
    if (plan.kind == hearth::app::PrivilegePlan::Kind::Refuse) {
      std::fprintf(stderr, "hearthd: %s\n", plan.error.c_str());
      std::fprintf(stderr, "hearthd: 1 configuration error(s)\n");
      return 2;
    }
  }
  if (r.action == hearth::config::Action::CheckConfig) {
    // Who the app would run as, decided as a real start decides it (an
    // unknown `user`/`group`, root without `user`): the same message, exit 2.
    auto plan = hearth::app::plan_privileges(::geteuid(), ::getegid(), *r.config, hearth::app::system_accounts());
    if (plan.kind == hearth::app::PrivilegePlan::Kind::Refuse) {
      std::fprintf(stderr, "hearthd: %s\n", plan.error.c_str());
      std::fprintf(stderr, "hearthd: 1 configuration error(s)\n");
      return 2;
    }
    std::fputs(hearth::config::to_toml(*r.config).c_str(), stdout);
    std::fprintf(stderr, "hearthd: configuration OK\n");
    return 0;
  }
  hearth::app::Daemon daemon(r.config);
  daemon.set_config_inputs(std::move(in));  // [[apps]]: `hearthctl reload` reads the file again
  return daemon.run();
}

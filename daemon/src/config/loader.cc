// The pipeline: defaults < file < environment < CLI, then resolution and
// cross-field validation. See loader.h.
#include "config/loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/apps.h"
#include "config/cli.h"
#include "config/defaults.h"
#include "config/env.h"
#include "config/reference.h"
#include "config/toml_source.h"
#include "config/upstreams.h"
#include "config/validate.h"

namespace hearth::config {
namespace {

// The whole file, or nullopt with errno set.
std::optional<std::string> slurp(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Reads and applies a config file; false when it could not be read or parsed
// (the rest of the pipeline still runs, but cross-field validation would only
// add noise about values the file was meant to set).
bool read_file(const std::string& path, const std::string& named_by, Config& cfg, Provenance& prov,
               std::vector<std::string>& errors, std::string* text_out) {
  auto text = slurp(path);
  if (!text) {
    std::string msg = path + ": cannot read config file: " + std::strerror(errno);
    if (!named_by.empty()) msg += " (named by " + named_by + ")";
    errors.push_back(std::move(msg));
    return false;
  }
  bool ok = read_toml(*text, path, cfg, prov, errors);
  *text_out = std::move(*text);
  return ok;
}

// Validation of the merged top level, then the [[apps]] blocks read over it
// (config/apps.h), when the file has any.
void validate_all(Config& cfg, const Provenance& prov, const std::string& text, unsigned cores, Action action,
                  std::vector<std::string>& errors) {
  std::vector<std::string> top = validate(cfg, action, prov);
  if (prov.label("apps") != "apps") {
    cfg.apps = read_apps(text, cfg.config_file, cfg, prov, cores, action, top, errors);
  }
  if (prov.label("upstreams") != "upstreams") cfg.upstreams = read_upstreams(text, cfg.config_file, cfg, errors);
  if (!cfg.upstreams.empty() && cfg.apps.empty() && cfg.app.empty()) {
    // Only [[upstreams]]: no Python app is needed (and no zygote is started).
    std::erase_if(top, [](const std::string& e) { return e.rfind("no application given", 0) == 0; });
  }
  for (auto& e : top) errors.push_back(std::move(e));
}

// keepwarm.jitter that was not set follows the interval (a tenth of it), so
// `interval = "2s"` alone is not an error about a key the user never wrote.
void resolve_keepwarm_jitter(Config& cfg, const Provenance& prov) {
  if (prov.label("keepwarm.jitter") == "keepwarm.jitter") cfg.keepwarm.jitter = cfg.keepwarm.interval / 10;
}

LoadResult finish(Action action, Config cfg, std::vector<std::string> errors) {
  LoadResult r;
  r.action = action;
  r.errors = std::move(errors);
  if (r.errors.empty()) r.config = std::make_shared<const Config>(std::move(cfg));
  return r;
}

}  // namespace

LoadResult load(const LoadInputs& in) {
  CommandLine cl = parse_command_line(in.args);
  if (cl.action == Action::Help) {
    LoadResult r;
    r.action = Action::Help;
    r.help_text = help_text();
    return r;
  }
  if (cl.action == Action::PrintReference) {
    LoadResult r;
    r.action = Action::PrintReference;
    r.help_text = config_reference_markdown();
    return r;
  }
  if (cl.action == Action::Version) {
    LoadResult r;
    r.action = Action::Version;
    return r;
  }

  std::vector<std::string> errors = cl.errors;
  Config cfg = default_config();
  cfg.runtime_dir = in.default_runtime_dir;
  Provenance prov;

  bool file_ok = true;
  std::string text;
  if (cl.config_file) {
    file_ok = read_file(*cl.config_file, "", cfg, prov, errors, &text);
  } else if (auto path = env_value(in.env, "HEARTH_CONFIG")) {
    file_ok = read_file(*path, "$HEARTH_CONFIG", cfg, prov, errors, &text);
  }
  apply_environment(in.env, cl, cfg, prov, errors);
  apply_command_line(cl, cfg, prov, errors);
  resolve_workers(cfg, in.cores);
  resolve_keepwarm_jitter(cfg, prov);
  if (file_ok) validate_all(cfg, prov, text, in.cores, cl.action, errors);
  return finish(cl.action, std::move(cfg), std::move(errors));
}

LoadResult load_file_only(const std::string& path, unsigned cores) {
  std::vector<std::string> errors;
  Config cfg = default_config();
  Provenance prov;
  std::string text;
  bool file_ok = read_file(path, "", cfg, prov, errors, &text);
  resolve_workers(cfg, cores);
  resolve_keepwarm_jitter(cfg, prov);
  if (file_ok) validate_all(cfg, prov, text, cores, Action::Run, errors);
  return finish(Action::Run, std::move(cfg), std::move(errors));
}

}  // namespace hearth::config

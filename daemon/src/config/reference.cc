#include "config/reference.h"

#include "config/apps.h"
#include "config/upstreams.h"

#include <toml++/toml.h>

#include <sstream>

#include "config/cli.h"
#include "config/defaults.h"
#include "config/schema.h"
#include "config/summary.h"

namespace hearth::config {
namespace {

// A default as the reader would write it in TOML; durations and sizes bare
// ("30s", "10MiB"), since either form is accepted.
std::string render(const toml::node& n, bool bare_strings) {
  if (auto s = n.as_string()) return bare_strings ? s->get() : toml_quote(s->get());
  if (auto a = n.as_array()) {
    std::string out = "[";
    for (size_t i = 0; i < a->size(); ++i) out += (i ? ", " : "") + render(*a->get(i), false);
    return out + "]";
  }
  if (auto t = n.as_table()) {
    if (t->empty()) return "{}";
    std::string out = "{ ";
    bool first = true;
    for (auto&& [k, v] : *t) {
      out += (first ? "" : ", ") + std::string(k.str()) + " = " + render(v, false);
      first = false;
    }
    return out + " }";
  }
  std::ostringstream os;
  n.visit([&os](const auto& v) { os << v; });
  return os.str();
}

// A table cell: '|' would end the cell; a '*' outside `code` would start emphasis.
std::string cell(std::string s) {
  std::string out;
  bool in_code = false;
  for (char c : s) {
    if (c == '`') in_code = !in_code;
    if (c == '|' || (c == '*' && !in_code)) out += '\\';
    out += c;
  }
  return out;
}

std::string default_cell(const KeySpec& k, const toml::table& defaults) {
  auto node = defaults.at_path(k.key);
  std::string out;
  // An empty string with a note says it better alone: "(the daemon's cwd)".
  bool empty_string = node && node.is_string() && node.as_string()->get().empty();
  if (node && !(empty_string && !k.default_note.empty())) {
    out = "`" + render(*node.node(), k.type == "duration" || k.type == "size") + "`";
    if (!k.default_note.empty()) out += " " + std::string(k.default_note);
  } else {
    out = std::string(k.default_note);
  }
  return cell(out);
}

std::string flags_cell(const KeySpec& k, const std::vector<FlagInfo>& flags) {
  // The app is the one positional argument rather than a flag.
  if (k.key == "app") return "positional `APP`";
  std::string out;
  for (const auto& f : flags) {
    if (f.key == k.key) out += (out.empty() ? "`" : " / `") + f.synopsis + "`";
  }
  return out;
}

}  // namespace

std::string config_reference_markdown() {
  toml::table defaults = toml::parse(to_toml(default_config()));
  std::vector<FlagInfo> flags = flag_infos();
  std::string out;

  // One table per section; the top level first.
  auto table = [&](std::string_view section) {
    // The CLI flag and env columns only where some key of the section has one.
    bool any_env = false, any_flag = false;
    for (const auto& k : schema()) {
      std::string_view s = k.key.rfind('.') == std::string_view::npos ? "" : k.key.substr(0, k.key.rfind('.'));
      if (s != section || k.type == "section") continue;
      if (!k.env.empty()) any_env = true;
      if (!flags_cell(k, flags).empty()) any_flag = true;
    }
    out += std::string("| key | type | default |") + (any_flag ? " CLI flag |" : "") + (any_env ? " env |" : "") +
           " meaning |\n|---|---|---|" + (any_flag ? "---|" : "") + (any_env ? "---|" : "") + "---|\n";
    for (const auto& k : schema()) {
      size_t dot = k.key.rfind('.');
      std::string_view s = dot == std::string_view::npos ? "" : k.key.substr(0, dot);
      if (s != section || k.type == "section") continue;
      std::string_view leaf = dot == std::string_view::npos ? k.key : k.key.substr(dot + 1);
      out += "| `" + std::string(leaf) + "` | " + std::string(k.type) + " | " + default_cell(k, defaults) + " | ";
      if (any_flag) out += flags_cell(k, flags) + " | ";
      if (any_env) out += (k.env.empty() ? "" : "`" + std::string(k.env) + "`") + " | ";
      out += cell(std::string(k.description)) + " |\n";
    }
  };

  out += "## Top-level keys\n\n";
  table("");
  for (const auto& k : schema()) {
    if (k.type != "section") continue;
    out += "\n## `[" + std::string(k.key) + "]`\n\n" + std::string(k.description) + "\n\n";
    table(k.key);
  }

  out += "\n## `[[static]]`\n\n";
  out += "Each `[[static]]` entry mounts a directory at a URL prefix; the files are served by the daemon, never by "
         "the app (sendfile, ETag/Last-Modified with 304, single ranges, precompressed variants). Unknown keys in an "
         "entry are errors (`static[0].dri`). `--static PREFIX=DIR` adds a mount with these defaults. "
         "See [static.md](static.md).\n\n";
  out += "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : static_entry_schema()) {
    out += "| `" + std::string(k.key) + "` | " + std::string(k.type) + " | " + cell(std::string(k.default_note)) +
           " | " + cell(std::string(k.description)) + " |\n";
  }

  out += "\n## `[[rate_limit]]`\n\n";
  out += "Each `[[rate_limit]]` entry limits the request rate per client address under a URL prefix, before "
         "`[[static]]` mounts and the app: beyond the burst the answer is `429 Too Many Requests` with "
         "`Retry-After`. Unknown keys in an entry are errors. See [frontdoor.md](frontdoor.md).\n\n";
  out += "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : rate_limit_entry_schema()) {
    out += "| `" + std::string(k.key) + "` | " + std::string(k.type) + " | " + cell(std::string(k.default_note)) +
           " | " + cell(std::string(k.description)) + " |\n";
  }

  out += "\n## `[[apps]]`\n\n";
  out += "Each `[[apps]]` entry is one app with its own zygote, workers, queue and health checks, routed by Host "
         "and path ([several-apps.md](several-apps.md)). Besides the keys below an entry may set every per-app key, "
         "which otherwise keeps its top-level value: ";
  {
    bool first = true;
    for (auto k : app_block_keys()) {
      out += (first ? "`" : ", `") + std::string(k) + (is_section_key(k) ? ".*`" : "`");
      first = false;
    }
  }
  out += ". Daemon-wide keys (listeners, `[http]`, `[tls]`, `[log]`, `[[static]]`, ...) are errors inside an "
         "entry, and so is a top-level `app` (or the command line's `APP`) next to `[[apps]]`.\n\n";
  out += "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : apps_entry_schema()) {
    out += "| `" + std::string(k.key) + "` | " + std::string(k.type) + " | " + cell(std::string(k.default_note)) +
           " | " + cell(std::string(k.description)) + " |\n";
  }

  out += "\n## `[[upstreams]]`\n\n";
  out += "Each `[[upstreams]]` entry is an HTTP/1.1 server behind hearthd, routed like an app by `hosts` and "
         "`prefix`: either `servers` to proxy to, or a `command` that hearthd starts and supervises "
         "([several-apps.md](several-apps.md#upstreams)). Exactly one of `servers` and `command`; unknown keys are "
         "errors.\n\n";
  out += "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : upstreams_entry_schema()) {
    out += "| `" + std::string(k.key) + "` | " + std::string(k.type) + " | " + cell(std::string(k.default_note)) +
           " | " + cell(std::string(k.description)) + " |\n";
  }

  out += "\n## Command-line flags\n\n";
  out += "Every flag that sets a key overrides the config file and the environment.\n\n";
  out += "| flag | sets | meaning |\n|---|---|---|\n";
  for (const auto& f : flags) {
    out += "| `" + f.synopsis + "` | " + (f.key.empty() ? std::string() : "`" + f.key + "`") + " | " + cell(f.help) +
           " |\n";
  }
  return out;
}

}  // namespace hearth::config

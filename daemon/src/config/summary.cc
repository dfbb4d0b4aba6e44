#include "config/summary.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <cstdio>
#include <optional>

#include "config/bind.h"
#include "config/schema.h"
#include "config/units.h"

namespace hearth::config {
namespace {

std::string quote(const std::string& s) { return toml_quote(s); }

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quote(items[i]);
  return out + "]";
}

// The value of a typed key as TOML, from its schema Field.
std::string typed_value(const Field& f, const Config& cfg) {
  using Kind = Field::Kind;
  // The accessors take a Config& (the reader writes through them); here they are only read.
  Config& c = const_cast<Config&>(cfg);
  switch (f.kind) {
    case Kind::String:
    case Kind::Choice: return quote(*f.text(c));
    case Kind::Secret: return quote(f.text(c)->empty() ? "" : "(set)");
    case Kind::Bool: return *f.flag(c) ? "true" : "false";
    case Kind::Count: return std::to_string(*f.u32(c));
    case Kind::Count64: return std::to_string(*f.u64(c));
    case Kind::Size: return quote(format_size(*f.u64(c)));
    case Kind::Duration: return quote(format_duration(*f.millis(c)));
    case Kind::List: return array(*f.list(c));
    case Kind::Section:
    case Kind::Custom: break;
  }
  return "";
}

// A Custom key's value as TOML; nullopt when it is not a `key = value` line
// of its section (env is a table of its own, arrays of tables come last).
std::optional<std::string> custom_value(std::string_view key, const Config& c) {
  auto binds = [](const std::vector<Bind>& list) {
    std::vector<std::string> out;
    for (const auto& b : list) out.push_back(to_string(b));
    return array(out);
  };
  if (key == "bind") return binds(c.binds);
  if (key == "admin_bind") {
    if (!c.admin_bind) return std::nullopt;
    return quote(to_string(*c.admin_bind));
  }
  if (key == "umask") {
    char mask[16] = "";
    if (c.umask >= 0) std::snprintf(mask, sizeof mask, "%04o", static_cast<unsigned>(c.umask));
    return quote(mask);
  }
  if (key == "tls.min_version") return quote(c.tls.min_version);
  if (key == "tls.redirect_http_from") return binds(c.tls.redirect_http_from);
  return std::nullopt;  // env, warmup.requests, static, rate_limit, error_page, tls.certificates, apps, upstreams
}

std::string section_of(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? "" : std::string(key.substr(0, dot));
}

std::string leaf_of(std::string_view key) {
  size_t dot = key.rfind('.');
  return std::string(dot == std::string_view::npos ? key : key.substr(dot + 1));
}

// The `key = value` lines of one section ("" = the top level), in schema order.
std::string section_lines(std::string_view section, const Config& c) {
  std::string o;
  for (const auto& k : schema()) {
    if (k.field.kind == Field::Kind::Section || section_of(k.key) != section) continue;
    std::optional<std::string> v =
        k.field.kind == Field::Kind::Custom ? custom_value(k.key, c) : typed_value(k.field, c);
    if (v) o += leaf_of(k.key) + " = " + *v + "\n";
  }
  return o;
}

}  // namespace

std::string toml_quote(std::string_view s) {
  std::string json = boost::json::serialize(boost::json::string_view(s.data(), s.size()));
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '\x7f') out += "\\u007f";  // JSON allows a raw DEL, TOML does not
    else out += c;
  }
  return out;
}

std::string to_toml(const Config& c) {
  std::string o;
  auto line = [&o](const std::string& k, const std::string& v) { o += k + " = " + v + "\n"; };
  o += "# config file: " + (c.config_file.empty() ? std::string("(none)") : c.config_file) + "\n";
  o += "# runtime dir: " + (c.runtime_dir.empty() ? std::string("(none)") : c.runtime_dir) + "\n";
  o += section_lines("", c);
  o += "\n[env]\n";
  for (const auto& [k, v] : c.env) line(quote(k), quote(v));
  for (const auto& k : schema()) {
    if (k.field.kind != Field::Kind::Section) continue;
    std::string lines = section_lines(k.key, c);
    if (!lines.empty()) o += "\n[" + std::string(k.key) + "]\n" + lines;  // [warmup] has only [[warmup.requests]]
  }
  for (const auto& r : c.warmup.requests) {
    o += "\n[[warmup.requests]]\n";
    line("method", quote(r.method));
    line("path", quote(r.path));
    std::string headers = "[";
    for (size_t i = 0; i < r.headers.size(); ++i) {
      headers += (i ? ", " : "") + array({r.headers[i].first, r.headers[i].second});
    }
    line("headers", headers + "]");
    line("body", quote(r.body));
  }
  for (const auto& p : c.error_pages) {
    o += "\n[[error_page]]\n";
    std::string statuses = "[";
    for (size_t i = 0; i < p.status.size(); ++i) statuses += (i ? ", " : "") + std::to_string(p.status[i]);
    line("status", statuses + "]");
    line("file", quote(p.file));
  }
  for (const auto& t : c.tls.certificates) {
    o += "\n[[tls.certificates]]\n";
    line("hosts", array(t.hosts));
    line("certfile", quote(t.certfile));
    if (!t.keyfile.empty()) line("keyfile", quote(t.keyfile));
  }
  for (const auto& r : c.rate_limits) {
    o += "\n[[rate_limit]]\n";
    line("prefix", quote(r.prefix));
    line("rate", quote(r.rate));
    line("burst", std::to_string(r.burst));
    line("key", quote(r.key));
    line("methods", array(r.methods));
  }
  for (const auto& a : c.apps) {
    // Each app's route and the per-app keys its block (or the top level) gave it.
    o += "\n[[apps]]\n";
    line("name", quote(a.name));
    line("hosts", array(a.hosts));
    line("prefix", quote(a.prefix));
    const Config& s = *a.settings;
    line("app", quote(s.app));
    line("interface", quote(s.interface));
    line("preload", s.preload ? "true" : "false");
    line("workers", std::to_string(s.workers));
    line("threads", std::to_string(s.threads));
    if (!s.chdir.empty()) line("chdir", quote(s.chdir));
    if (!s.health.path.empty()) line("health.path", quote(s.health.path));
  }
  for (const auto& u : c.upstreams) {
    o += "\n[[upstreams]]\n";
    line("name", quote(u.name));
    line("hosts", array(u.hosts));
    line("prefix", quote(u.prefix));
    line("strip_prefix", u.strip_prefix ? "true" : "false");
    if (!u.command.empty()) line("command", quote(u.command));
    else line("servers", array(u.servers));
    if (!u.health_path.empty()) line("health.path", quote(u.health_path));
  }
  for (const auto& m : c.statics) {
    o += "\n[[static]]\n";
    line("prefix", quote(m.prefix));
    line("dir", quote(m.dir));
    line("cache_control", quote(m.cache_control));
    line("allow_dotfiles", m.allow_dotfiles ? "true" : "false");
    line("index", quote(m.index));
    line("precompressed", m.precompressed ? "true" : "false");
    line("fallthrough", m.fallthrough ? "true" : "false");
  }
  return o;
}

}  // namespace hearth::config

#include "config/toml_source.h"

#include <cctype>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <span>
#include <sstream>

#include "config/bind.h"
#include "config/edit_distance.h"
#include "config/schema.h"
#include "config/units.h"

namespace hearth::config {
namespace {

// The keys themselves are listed in schema.cc; a key is accepted when it is
// both in the schema and in the handler table below (a unit test checks that
// the two lists agree).

// "http.max_body_size" -> {"http", "max_body_size"}; {"", "workers"} at the top level.
std::pair<std::string_view, std::string_view> split_key(std::string_view key) {
  size_t dot = key.rfind('.');
  if (dot == std::string_view::npos) return {std::string_view(), key};
  return {key.substr(0, dot), key.substr(dot + 1)};
}

std::string where(const std::string& path, const toml::source_position& pos) {
  return path + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

// A value as the user wrote it, for "got ..." in messages.
std::string render(const toml::node& n) {
  if (auto s = n.as_string()) {
    std::string out = "\"";
    for (char c : s->get()) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  if (n.is_date()) return "a date";
  if (n.is_time()) return "a time";
  if (n.is_date_time()) return "a date-time";
  std::ostringstream os;
  n.visit([&os](const auto& v) { os << v; });
  return os.str();
}

class Reader {
 public:
  Reader(const std::string& path, Config& cfg, Provenance& prov) : path_(path), cfg_(cfg), prov_(prov) {
    bind_handlers();
  }

  void read(const toml::table& root) { read_table(root, ""); }

  // Every key with a handler, dotted.
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& [k, h] : handlers_) out.push_back(k);
    return out;
  }

  std::vector<std::string> take_errors() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
      return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
    });
    std::vector<std::string> out;
    for (auto& e : errors_) out.push_back(std::move(e.message));
    return out;
  }

 private:
  using Handler = std::function<void(const std::string& key, const toml::node&)>;
  struct Error {
    toml::source_position pos;
    std::string message;
  };

  void error(const toml::source_position& pos, std::string message) {
    errors_.push_back({pos, where(path_, pos) + ": " + std::move(message)});
  }
  // "http.max_body_size: expected a size such as 10MiB, got \"10 potatoes\""
  void bad(const std::string& key, const toml::node& n, std::string_view expected) {
    error(n.source().begin, key + ": expected " + std::string(expected) + ", got " + render(n));
  }
  void ok(const std::string& key, const toml::node& n) {
    prov_.set(key, where(path_, n.source().begin) + ": " + key);
  }

  void read_table(const toml::table& table, const std::string& section) {
    for (auto&& [k, node] : table) {
      std::string key = section.empty() ? std::string(k.str()) : section + "." + std::string(k.str());
      auto h = handlers_.find(key);
      if (h == handlers_.end() || !find_key(key)) {
        std::string msg = "unknown key '" + key + "'";
        std::string hint = suggest_key(key);
        if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
        error(k.source().begin, std::move(msg));
        continue;
      }
      h->second(key, node);
    }
  }

  // --- one factory per value type ---
  Handler section() {
    return [this](const std::string& key, const toml::node& n) {
      if (auto t = n.as_table()) {
        read_table(*t, key);
      } else {
        bad(key, n, "a table ([" + key + "])");
      }
    };
  }
  Handler duration(Millis* out) {
    return [this, out](const std::string& key, const toml::node& n) {
      std::optional<Millis> v;
      if (auto i = n.as_integer()) {
        if (i->get() >= 0) v = duration_from_seconds(static_cast<double>(i->get()));
      } else if (auto f = n.as_floating_point()) {
        v = duration_from_seconds(f->get());
      } else if (auto s = n.as_string()) {
        v = parse_duration(s->get());
      }
      if (!v) return bad(key, n, "a duration such as 30s, 250ms or 1m30s (a number means seconds)");
      *out = *v;
      ok(key, n);
    };
  }
  Handler size(uint64_t* out) {
    return [this, out](const std::string& key, const toml::node& n) {
      std::optional<uint64_t> v;
      if (auto i = n.as_integer()) {
        if (i->get() >= 0) v = static_cast<uint64_t>(i->get());
      } else if (auto s = n.as_string()) {
        v = parse_size(s->get());
      }
      if (!v) return bad(key, n, "a size such as 10MiB");
      *out = *v;
      ok(key, n);
    };
  }
  Handler count(uint32_t* out) {
    return [this, out](const std::string& key, const toml::node& n) {
      auto i = n.as_integer();
      if (!i || i->get() < 0) return bad(key, n, "a non-negative integer");
      if (i->get() > int64_t{UINT32_MAX}) {
        return error(n.source().begin, key + ": must be at most " + std::to_string(UINT32_MAX) + ", got " + render(n));
      }
      *out = static_cast<uint32_t>(i->get());
      ok(key, n);
    };
  }
  Handler count64(uint64_t* out) {
    return [this, out](const std::string& key, const toml::node& n) {
      auto i = n.as_integer();
      if (!i || i->get() < 0) return bad(key, n, "a non-negative integer");
      *out = static_cast<uint64_t>(i->get());
      ok(key, n);
    };
  }
  Handler boolean(bool* out) {
    return [this, out](const std::string& key, const toml::node& n) {
      auto b = n.as_boolean();
      if (!b) return bad(key, n, "true or false");
      *out = b->get();
      ok(key, n);
    };
  }
  Handler string(std::string* out) {
    return [this, out](const std::string& key, const toml::node& n) {
      auto s = n.as_string();
      if (!s) return bad(key, n, "a string");
      *out = s->get();
      ok(key, n);
    };
  }
  // A string checked and canonicalized by `parse`.
  Handler choice(std::string* out, std::optional<std::string> (*parse)(std::string_view), std::string expected) {
    return [this, out, parse, expected](const std::string& key, const toml::node& n) {
      std::optional<std::string> v;
      if (auto s = n.as_string()) v = parse(s->get());
      if (!v) return bad(key, n, expected);
      *out = *v;
      ok(key, n);
    };
  }
  // A string, or an array of strings; each string is split by `split_commas`.
  // `accept` checks one item; the whole list is replaced only if all are good.
  template <typename T>
  Handler list(std::vector<T>* out, bool split_commas, std::function<std::optional<T>(std::string_view)> accept,
               std::string expected) {
    return [=, this](const std::string& key, const toml::node& n) {
      std::vector<T> items;
      bool good = true;
      auto take = [&](const toml::node& item) {
        auto s = item.as_string();
        if (!s) {
          bad(key, item, expected);
          good = false;
          return;
        }
        std::string_view text = s->get();
        std::vector<std::string_view> parts;
        if (split_commas) {
          while (true) {
            size_t comma = text.find(',');
            parts.push_back(text.substr(0, comma));
            if (comma == std::string_view::npos) break;
            text.remove_prefix(comma + 1);
          }
        } else {
          parts.push_back(text);
        }
        for (auto part : parts) {
          auto v = accept(part);
          if (!v) {
            bad(key, item, expected);
            good = false;
            return;
          }
          items.push_back(std::move(*v));
        }
      };
      if (auto a = n.as_array()) {
        for (const auto& item : *a) take(item);
      } else if (n.is_string()) {
        take(n);
      } else {
        return bad(key, n, expected + " (or an array of them)");
      }
      if (!good) return;
      *out = std::move(items);
      ok(key, n);
    };
  }
  Handler env_table(std::map<std::string, std::string>* out) {
    return [this, out](const std::string& key, const toml::node& n) {
      auto t = n.as_table();
      if (!t) return bad(key, n, "a table of strings, such as env = { DJANGO_SETTINGS_MODULE = \"site.settings\" }");
      std::map<std::string, std::string> vars;
      bool good = true;
      for (auto&& [k, v] : *t) {
        std::string name(k.str());
        std::string var_key = key + "." + name;
        if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
          error(k.source().begin, var_key + ": not a valid environment variable name");
          good = false;
        } else if (auto s = v.as_string()) {
          vars[name] = s->get();
        } else {
          bad(var_key, v, "a string");
          good = false;
        }
      }
      if (!good) return;
      *out = std::move(vars);
      ok(key, n);
    };
  }

  // An array of tables ([[warmup.requests]], [[static]]): read_entry(item_key,
  // item, table, entry) reads one table into `entry` and says whether it was
  // good. Nothing is stored unless every entry is.
  template <typename T, typename ReadEntry>
  Handler array_of_tables(std::vector<T>* out, std::string_view array_kind, std::string_view table_kind,
                          ReadEntry read_entry) {
    return [this, out, array_kind, table_kind, read_entry](const std::string& key, const toml::node& n) {
      auto arr = n.as_array();
      if (!arr) return bad(key, n, array_kind);
      std::vector<T> entries;
      bool good = true;
      for (size_t i = 0; i < arr->size(); ++i) {
        const toml::node& item = *arr->get(i);
        std::string item_key = key + "[" + std::to_string(i) + "]";
        auto t = item.as_table();
        if (!t) {
          bad(item_key, item, table_kind);
          good = false;
          continue;
        }
        T entry;
        if (!read_entry(item_key, item, *t, entry)) good = false;
        entries.push_back(std::move(entry));
      }
      if (!good) return;
      *out = std::move(entries);
      ok(key, n);
    };
  }
  // "unknown key 'static[0].falltrough' (did you mean 'fallthrough'?)" for a key
  // inside an entry of an array of tables; `known` are the entry's keys.
  void unknown_entry_key(const toml::key& k, const std::string& field, std::string_view name,
                         std::span<const std::string_view> known) {
    std::string msg = "unknown key '" + field + "'";
    for (std::string_view candidate : known) {
      if (edit_distance(name, candidate) <= 2) {
        msg += " (did you mean '" + std::string(candidate) + "'?)";
        break;
      }
    }
    error(k.source().begin, std::move(msg));
  }

  // [[warmup.requests]]: an array of tables with method, path, headers
  // (a table of strings, or an array of [name, value] pairs) and body.
  Handler warmup_requests(std::vector<WarmupRequest>* out) {
    return array_of_tables(out, "an array of tables ([[warmup.requests]])",
                           "a table with method, path, headers and body",
                           [this](const std::string& item_key, const toml::node&, const toml::table& t,
                                  WarmupRequest& req) {
      bool good = true;
      for (auto&& [k, v] : t) {
        std::string name(k.str());
        std::string field = item_key + "." + name;
        auto str = v.as_string();
        if (name == "method" || name == "path" || name == "body") {
          if (!str) {
            bad(field, v, "a string");
            good = false;
            continue;
          }
          (name == "method" ? req.method : name == "path" ? req.path : req.body) = str->get();
        } else if (name == "headers") {
          if (!read_headers(field, v, req.headers)) good = false;
        } else {
          static constexpr std::string_view kKeys[] = {"method", "path", "headers", "body"};
          unknown_entry_key(k, field, name, kKeys);
          good = false;
        }
      }
      return good;
    });
  }
  // [[static]]: an array of tables whose keys are listed in static_entry_schema().
  Handler static_mounts(std::vector<StaticMount>* out) {
    return array_of_tables(out, "an array of tables ([[static]])", "a table with prefix and dir",
                           [this](const std::string& item_key, const toml::node& item, const toml::table& t,
                                  StaticMount& m) {
      bool good = true;
      bool has_prefix = false, has_dir = false;
      for (auto&& [k, v] : t) {
        std::string name(k.str());
        std::string field = item_key + "." + name;
        std::string* str_out = name == "prefix" ? &m.prefix
                               : name == "dir" ? &m.dir
                               : name == "cache_control" ? &m.cache_control
                               : name == "index" ? &m.index
                                                 : nullptr;
        bool* bool_out = name == "allow_dotfiles" ? &m.allow_dotfiles
                         : name == "precompressed" ? &m.precompressed
                         : name == "fallthrough" ? &m.fallthrough
                                                 : nullptr;
        if (str_out) {
          auto s = v.as_string();
          if (!s) {
            bad(field, v, "a string");
            good = false;
            continue;
          }
          *str_out = s->get();
          has_prefix = has_prefix || name == "prefix";
          has_dir = has_dir || name == "dir";
        } else if (bool_out) {
          auto b = v.as_boolean();
          if (!b) {
            bad(field, v, "true or false");
            good = false;
            continue;
          }
          *bool_out = b->get();
        } else {
          std::vector<std::string_view> known;
          for (const auto& spec : static_entry_schema()) known.push_back(spec.key);
          unknown_entry_key(k, field, name, known);
          good = false;
        }
      }
      if (!has_prefix || !has_dir) {
        error(item.source().begin, item_key + ": needs both prefix and dir");
        good = false;
      }
      return good;
    });
  }
  // [[rate_limit]]: an array of tables whose keys are listed in rate_limit_entry_schema().
  Handler rate_limit_rules(std::vector<RateLimitRule>* out) {
    return array_of_tables(out, "an array of tables ([[rate_limit]])", "a table with prefix and rate",
                           [this](const std::string& item_key, const toml::node& item, const toml::table& t,
                                  RateLimitRule& r) {
      bool good = true;
      bool has_prefix = false, has_rate = false;
      for (auto&& [k, v] : t) {
        std::string name(k.str());
        std::string field = item_key + "." + name;
        if (name == "prefix" || name == "key") {
          has_prefix = has_prefix || name == "prefix";
          auto s = v.as_string();
          if (!s) {
            bad(field, v, "a string");
            good = false;
            continue;
          }
          (name == "prefix" ? r.prefix : r.key) = s->get();
        } else if (name == "rate") {
          has_rate = true;  // a bad one is reported as such, not as missing
          std::optional<double> per_second;
          if (auto s = v.as_string()) per_second = parse_rate(s->get());
          if (!per_second) {
            bad(field, v, "a rate such as \"10/s\", \"600/m\" or \"1000/h\"");
            good = false;
            continue;
          }
          r.rate = v.as_string()->get();
          r.per_second = *per_second;
          has_rate = true;
        } else if (name == "burst") {
          auto i = v.as_integer();
          if (!i || i->get() < 0 || i->get() > 1000000) {
            bad(field, v, "an integer from 0 to 1000000");
            good = false;
            continue;
          }
          r.burst = static_cast<uint32_t>(i->get());
        } else if (name == "methods") {
          std::vector<std::string> methods;
          auto take = [&](const toml::node& m) {
            auto s = m.as_string();
            std::optional<std::string> method;
            if (s) method = http_method_(s->get());
            if (!method) {
              bad(field, m, "HTTP methods such as [\"POST\", \"PUT\"]");
              return false;
            }
            methods.push_back(*method);
            return true;
          };
          if (auto a = v.as_array()) {
            for (const auto& m : *a) good = take(m) && good;
          } else {
            good = take(v) && good;
          }
          r.methods = std::move(methods);
        } else {
          std::vector<std::string_view> known;
          for (const auto& spec : rate_limit_entry_schema()) known.push_back(spec.key);
          unknown_entry_key(k, field, name, known);
          good = false;
        }
      }
      if (!has_prefix || !has_rate) {
        error(item.source().begin, item_key + ": needs both prefix and rate");
        good = false;
      }
      return good;
    });
  }
  // [[error_page]]: status (an integer or an array of them) and file.
  Handler error_page_entries(std::vector<ErrorPage>* out) {
    return array_of_tables(out, "an array of tables ([[error_page]])", "a table with status and file",
                           [this](const std::string& item_key, const toml::node& item, const toml::table& t,
                                  ErrorPage& p) {
      bool good = true;
      bool has_status = false, has_file = false;
      for (auto&& [k, v] : t) {
        std::string name(k.str());
        std::string field = item_key + "." + name;
        if (name == "file") {
          has_file = true;
          auto s = v.as_string();
          if (!s) {
            bad(field, v, "a string");
            good = false;
            continue;
          }
          p.file = s->get();
        } else if (name == "status") {
          has_status = true;
          auto take = [&](const toml::node& n) {
            auto i = n.as_integer();
            if (!i || i->get() < 100 || i->get() > 999) {
              bad(field, n, "HTTP status codes such as [502, 503, 504]");
              return false;
            }
            p.status.push_back(static_cast<int>(i->get()));
            return true;
          };
          if (auto a = v.as_array()) {
            for (const auto& n : *a) good = take(n) && good;
          } else {
            good = take(v) && good;
          }
        } else {
          static constexpr std::string_view kKeys[] = {"status", "file"};
          unknown_entry_key(k, field, name, kKeys);
          good = false;
        }
      }
      if (!has_status || !has_file) {
        error(item.source().begin, item_key + ": needs both status and file");
        good = false;
      }
      return good;
    });
  }
  bool read_headers(const std::string& key, const toml::node& n,
                    std::vector<std::pair<std::string, std::string>>& out) {
    bool good = true;
    if (auto t = n.as_table()) {
      for (auto&& [k, v] : *t) {
        if (auto s = v.as_string()) {
          out.emplace_back(std::string(k.str()), s->get());
        } else {
          bad(key + "." + std::string(k.str()), v, "a string");
          good = false;
        }
      }
    } else if (auto a = n.as_array()) {
      for (const auto& pair : *a) {
        auto p = pair.as_array();
        if (!p || p->size() != 2 || !p->get(0)->is_string() || !p->get(1)->is_string()) {
          bad(key, pair, "a [\"Name\", \"value\"] pair");
          good = false;
          continue;
        }
        out.emplace_back(p->get(0)->as_string()->get(), p->get(1)->as_string()->get());
      }
    } else {
      bad(key, n, "a table of strings or an array of [name, value] pairs");
      good = false;
    }
    return good;
  }

  void bind_handlers() {
    auto trimmed = [](std::string_view s) -> std::optional<std::string> {
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      if (s.empty()) return std::nullopt;
      return std::string(s);
    };
    auto bind_of = [](std::string_view s) { return parse_bind(s); };
    // An HTTP method token, upper-cased ("get" -> "GET").
    auto http_method = [trimmed](std::string_view s) -> std::optional<std::string> {
      auto t = trimmed(s);
      if (!t || t->size() > 32) return std::nullopt;
      for (char& ch : *t) {
        if (!std::isalpha(static_cast<unsigned char>(ch))) return std::nullopt;
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      }
      return t;
    };
    auto allow_ip = [trimmed](std::string_view s) -> std::optional<std::string> {
      auto t = trimmed(s);
      if (!t || !is_allow_ip_entry(*t)) return std::nullopt;
      return t;
    };
    http_method_ = http_method;
    auto compression_algorithm = [trimmed](std::string_view s) -> std::optional<std::string> {
      auto t = trimmed(s);
      if (!t) return std::nullopt;
      for (char& ch : *t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (*t == "br" || *t == "gzip") return t;
      return std::nullopt;
    };
    // "type/subtype" or "type/*", lower-cased.
    auto media_type = [trimmed](std::string_view s) -> std::optional<std::string> {
      auto t = trimmed(s);
      if (!t) return std::nullopt;
      for (char& ch : *t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto slash = t->find('/');
      if (slash == 0 || slash == std::string::npos || slash + 1 == t->size() ||
          t->find('/', slash + 1) != std::string::npos)
        return std::nullopt;
      for (char ch : *t) {
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || std::string_view("/*+-.!#$&^_").find(ch) != std::string_view::npos))
          return std::nullopt;
      }
      return t;
    };
    Config& c = cfg_;
    handlers_ = {
        {"app", string(&c.app)},
        {"python", string(&c.python)},
        {"chdir", string(&c.chdir)},
        {"pythonpath", list<std::string>(&c.pythonpath, true, trimmed, "directories as a string (\"a,b\") or an array of strings")},
        {"preload", boolean(&c.preload)},
        {"env", env_table(&c.env)},
        {"bind", list<Bind>(&c.binds, false, bind_of, std::string(kBindExpected))},
        {"admin_bind",
         [this](const std::string& key, const toml::node& n) {
           std::optional<Bind> b;
           if (auto s = n.as_string()) b = parse_bind(s->get());
           if (!b) return bad(key, n, kBindExpected);
           cfg_.admin_bind = *b;
           ok(key, n);
         }},
        {"control_socket", string(&c.control_socket)},
        {"metrics_token", string(&c.metrics_token)},
        {"user", string(&c.user)},
        {"group", string(&c.group)},
        {"allow_root", boolean(&c.allow_root)},
        {"workers", count(&c.workers)},
        {"threads", count(&c.threads)},
        {"max_queue", count(&c.max_queue)},
        {"queue_timeout", duration(&c.queue_timeout)},
        {"timeout", duration(&c.timeout)},
        {"graceful_timeout", duration(&c.graceful_timeout)},
        {"boot_timeout", duration(&c.boot_timeout)},
        {"forwarded_allow_ips",
         list<std::string>(&c.forwarded_allow_ips, true, allow_ip,
                           "IP addresses or CIDR ranges (\"127.0.0.1,10.0.0.0/8\"), or \"*\"")},
        {"proxy_protocol", boolean(&c.proxy_protocol)},
        {"proxy_allow_ips",
         list<std::string>(&c.proxy_allow_ips, true, allow_ip,
                           "IP addresses or CIDR ranges (\"127.0.0.1,10.0.0.0/8\"), or \"*\"")},
        {"temp_dir", string(&c.temp_dir)},
        {"pid_file", string(&c.pid_file)},
        {"proc_name", string(&c.proc_name)},
        {"umask",
         [this](const std::string& key, const toml::node& n) {
           // umask = "027" (a string in octal), or the TOML octal integer 0o027.
           std::optional<uint32_t> v;
           if (auto s = n.as_string(); s && s->get().empty()) {
             cfg_.umask = -1;  // "" = inherited
             return ok(key, n);
           }
           if (auto s = n.as_string()) v = parse_umask(s->get());
           else if (auto i = n.as_integer(); i && i->get() >= 0 && i->get() <= 0777) v = static_cast<uint32_t>(i->get());
           if (!v) return bad(key, n, "an octal mask such as \"027\" or 0o027 (at most 0777)");
           cfg_.umask = static_cast<int32_t>(*v);
           ok(key, n);
         }},
        {"retry_methods", list<std::string>(&c.retry_methods, true, http_method,
                                            "HTTP methods (\"GET,HEAD\"), or [] for none")},
        {"max_requests", count64(&c.max_requests)},
        {"max_requests_jitter", count64(&c.max_requests_jitter)},
        {"max_worker_memory", size(&c.max_worker_memory)},
        {"memory_budget", size(&c.memory_budget)},
        {"min_workers", count(&c.min_workers)},
        {"max_workers", count(&c.max_workers)},
        {"idle_timeout", duration(&c.idle_timeout)},
        {"memory_interval", duration(&c.memory_interval)},
        {"ready_min", count(&c.ready_min)},
        {"http", section()},
        {"log", section()},
        {"compression", section()},
        {"compression.enabled", boolean(&c.compression.enabled)},
        {"compression.algorithms",
         list<std::string>(&c.compression.algorithms, true, compression_algorithm,
                           "\"br\" and/or \"gzip\" (an array, or a comma-separated string)")},
        {"compression.min_size", size(&c.compression.min_size)},
        {"compression.types", list<std::string>(&c.compression.types, true, media_type,
                                                "media types such as \"text/*\" or \"application/json\"")},
        {"compression.level", count(&c.compression.level)},
        {"health", section()},
        {"warmup", section()},
        {"keepwarm", section()},
        {"hooks", section()},
        {"certfile", string(&c.tls.certfile)},
        {"keyfile", string(&c.tls.keyfile)},
        {"tls", section()},
        {"tls.min_version",
         [this](const std::string& key, const toml::node& n) {
           // min_version = "1.2", or the bare TOML float 1.2.
           std::optional<std::string> v;
           if (auto s = n.as_string()) {
             v = parse_tls_version(s->get());
           } else if (auto f = n.as_floating_point()) {
             char buf[32];
             std::snprintf(buf, sizeof buf, "%.1f", f->get());
             if (std::abs(f->get() * 10 - std::round(f->get() * 10)) < 1e-9) v = parse_tls_version(buf);
           }
           if (!v) return bad(key, n, "\"1.2\" or \"1.3\"");
           cfg_.tls.min_version = *v;
           ok(key, n);
         }},
        {"tls.ciphers", string(&c.tls.ciphers)},
        {"tls.hsts_max_age", duration(&c.tls.hsts_max_age)},
        {"tls.redirect_http_from", list<Bind>(&c.tls.redirect_http_from, false, bind_of, std::string(kBindExpected))},
        {"health.path", string(&c.health.path)},
        {"health.interval", duration(&c.health.interval)},
        {"health.timeout", duration(&c.health.timeout)},
        {"health.unhealthy_threshold", count(&c.health.unhealthy_threshold)},
        {"health.healthy_threshold", count(&c.health.healthy_threshold)},
        {"health.max_consecutive_failures", count(&c.health.max_consecutive_failures)},
        {"warmup.requests", warmup_requests(&c.warmup.requests)},
        {"static", static_mounts(&c.statics)},
        {"rate_limit", rate_limit_rules(&c.rate_limits)},
        {"error_page", error_page_entries(&c.error_pages)},
        {"keepwarm.internal_interval", duration(&c.keepwarm.internal_interval)},
        {"keepwarm.url", string(&c.keepwarm.url)},
        {"keepwarm.interval", duration(&c.keepwarm.interval)},
        {"keepwarm.jitter", duration(&c.keepwarm.jitter)},
        {"keepwarm.timeout", duration(&c.keepwarm.timeout)},
        {"hooks.pre_fork", string(&c.hooks.pre_fork)},
        {"hooks.post_fork", string(&c.hooks.post_fork)},
        {"hooks.worker_exit", string(&c.hooks.worker_exit)},
        {"http.keepalive_timeout", duration(&c.http.keepalive_timeout)},
        {"http.header_timeout", duration(&c.http.header_timeout)},
        {"http.body_timeout", duration(&c.http.body_timeout)},
        {"http.send_timeout", duration(&c.http.send_timeout)},
        {"http.max_header_size", size(&c.http.max_header_size)},
        {"http.max_headers", count(&c.http.max_headers)},
        {"http.backlog", count(&c.http.backlog)},
        {"http.max_request_line", size(&c.http.max_request_line)},
        {"http.max_header_field_size", size(&c.http.max_header_field_size)},
        {"http.max_body_size", size(&c.http.max_body_size)},
        {"http.body_buffer_size", size(&c.http.body_buffer_size)},
        {"http.response_buffer_size", size(&c.http.response_buffer_size)},
        {"http.max_buffered_memory", size(&c.http.max_buffered_memory)},
        {"http.max_response_spool", size(&c.http.max_response_spool)},
        {"http.max_total_response_spool", size(&c.http.max_total_response_spool)},
        {"http.server_header", string(&c.http.server_header)},
        {"http.http2", boolean(&c.http.h2_enabled)},
        {"http.http2_max_concurrent_streams", count(&c.http.h2_max_concurrent_streams)},
        {"http.http2_initial_window_size", count(&c.http.h2_initial_window_size)},
        {"http.via", boolean(&c.http.via)},
        {"http.max_connections_per_ip", count(&c.http.max_connections_per_ip)},
        {"log.level", choice(&c.log.level, parse_log_level, "one of error, warn, info, debug")},
        {"log.access_log", string(&c.log.access_log)},
        {"log.access_log_format", choice(&c.log.access_log_format, parse_access_log_format, "combined or json")},
        {"log.error_log", string(&c.log.error_log)},
        {"log.capture_output", boolean(&c.log.capture_output)},
    };
  }

  const std::string& path_;
  Config& cfg_;
  Provenance& prov_;
  std::map<std::string, Handler> handlers_;
  std::vector<Error> errors_;
  std::function<std::optional<std::string>(std::string_view)> http_method_;
};

}  // namespace

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& k : schema()) out.emplace_back(k.key);
    return out;
  }();
  return keys;
}

std::vector<std::string> handled_keys() {
  Config cfg;
  Provenance prov;
  const std::string path;
  Reader reader(path, cfg, prov);
  return reader.keys();
}

std::string suggest_key(std::string_view unknown) {
  auto [section, leaf] = split_key(unknown);

  // 1. A typo: edit distance <= 2 from a known key.
  std::string best;
  size_t best_d = 3;
  for (const auto& k : known_keys()) {
    size_t d = edit_distance(unknown, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (!best.empty()) return best;
  // 2. The right name in the wrong section ("max_body_size" at the top level).
  for (const auto& k : schema()) {
    auto [ks, kn] = split_key(k.key);
    if (kn == leaf && ks != section && k.type != "section") return std::string(k.key);
  }
  // 3. A longer or shorter spelling in the same section ("log.access_logfile").
  for (const auto& k : schema()) {
    auto [ks, kn] = split_key(k.key);
    if (ks != section) continue;
    std::string_view a = kn, b = leaf;
    if (a.size() > b.size()) std::swap(a, b);
    if (a.size() >= 4 && b.substr(0, a.size()) == a) return std::string(k.key);
  }
  return "";
}

namespace {
// toml++'s words, with what they mean for the usual mistake: a string whose
// closing quote is missing runs into the end of the line (or of the file).
std::string explain_parse_error(std::string_view d) {
  bool in_string = d.find("Error while parsing string") != std::string_view::npos ||
                   d.find("Error while parsing literal string") != std::string_view::npos;
  bool ran_out = d.find("control characters") != std::string_view::npos ||
                 d.find("end-of-file") != std::string_view::npos;
  if (in_string && ran_out)
    return "unterminated string: the closing quote is missing before the end of the line (" + std::string(d) + ")";
  return std::string(d);
}
}  // namespace

bool read_toml(std::string_view text, const std::string& path, Config& cfg, Provenance& prov,
               std::vector<std::string>& errors) {
  cfg.config_file = path;
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    errors.push_back(where(path, e.source().begin) + ": " + explain_parse_error(e.description()));
    return false;
  }
  Reader reader(path, cfg, prov);
  reader.read(root);
  for (auto& e : reader.take_errors()) errors.push_back(std::move(e));
  return true;
}

}  // namespace hearth::config

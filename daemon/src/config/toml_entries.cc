// The config keys whose value needs code of its own (Field::Kind::Custom in
// schema.cc): addresses, the env table, umask, tls.min_version and the arrays
// of tables ([[warmup.requests]], [[static]], [[rate_limit]], [[error_page]]).
#include <cmath>
#include <cstdio>

#include "config/bind.h"
#include "config/edit_distance.h"
#include "config/toml_reader.h"
#include "config/units.h"

namespace hearth::config {

void TomlReader::add_custom_handlers() {
  Config& c = cfg_;
  auto bind_of = [](std::string_view s) { return parse_bind(s); };
  std::map<std::string, Handler> custom = {
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
      {"tls.redirect_http_from", list<Bind>(&c.tls.redirect_http_from, false, bind_of, std::string(kBindExpected))},
      {"warmup.requests", warmup_requests(&c.warmup.requests)},
      {"static", static_mounts(&c.statics)},
      {"rate_limit", rate_limit_rules(&c.rate_limits)},
      {"error_page", error_page_entries(&c.error_pages)},
      {"tls.certificates", tls_certificates(&c.tls.certificates)},
      // [[apps]] blocks are read after the whole file, over the merged top
      // level (config/apps.cc); here only their shape is checked.
      {"apps",
       [this](const std::string& key, const toml::node& n) {
         auto arr = n.as_array();
         if (!arr) return bad(key, n, "an array of tables ([[apps]])");
         for (size_t i = 0; i < arr->size(); ++i) {
           if (!arr->get(i)->is_table()) bad(key + "[" + std::to_string(i) + "]", *arr->get(i), "a table");
         }
         ok(key, n);
       }},
      // [[upstreams]] likewise (config/upstreams.cc).
      {"upstreams",
       [this](const std::string& key, const toml::node& n) {
         auto arr = n.as_array();
         if (!arr) return bad(key, n, "an array of tables ([[upstreams]])");
         for (size_t i = 0; i < arr->size(); ++i) {
           if (!arr->get(i)->is_table()) bad(key + "[" + std::to_string(i) + "]", *arr->get(i), "a table");
         }
         ok(key, n);
       }},
  };
  for (auto& [key, handler] : custom) handlers_[key] = std::move(handler);
}

TomlReader::Handler TomlReader::env_table(std::map<std::string, std::string>* out) {
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
TomlReader::Handler TomlReader::array_of_tables(std::vector<T>* out, std::string_view array_kind, std::string_view table_kind,
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
void TomlReader::unknown_entry_key(const toml::key& k, const std::string& field, std::string_view name,
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
TomlReader::Handler TomlReader::warmup_requests(std::vector<WarmupRequest>* out) {
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
TomlReader::Handler TomlReader::static_mounts(std::vector<StaticMount>* out) {
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
TomlReader::Handler TomlReader::rate_limit_rules(std::vector<RateLimitRule>* out) {
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
          if (s) method = parse_http_method(s->get());
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
TomlReader::Handler TomlReader::error_page_entries(std::vector<ErrorPage>* out) {
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
// [[tls.certificates]]: hosts (a string or an array of strings), certfile, keyfile.
TomlReader::Handler TomlReader::tls_certificates(std::vector<TlsCertificate>* out) {
  return array_of_tables(out, "an array of tables ([[tls.certificates]])", "a table with hosts and certfile",
                         [this](const std::string& item_key, const toml::node& item, const toml::table& t,
                                TlsCertificate& cert) {
    bool good = true;
    for (auto&& [k, v] : t) {
      std::string name(k.str());
      std::string field = item_key + "." + name;
      if (name == "certfile" || name == "keyfile") {
        auto s = v.as_string();
        if (!s || s->get().empty()) {
          bad(field, v, "a file name");
          good = false;
          continue;
        }
        (name == "certfile" ? cert.certfile : cert.keyfile) = s->get();
      } else if (name == "hosts") {
        auto take = [&](const toml::node& n) {
          auto s = n.as_string();
          if (!s || s->get().empty()) {
            bad(field, n, "host names such as [\"example.com\", \"*.example.com\"]");
            return false;
          }
          cert.hosts.push_back(s->get());
          return true;
        };
        if (auto a = v.as_array()) {
          for (const auto& n : *a) good = take(n) && good;
        } else {
          good = take(v) && good;
        }
      } else {
        static constexpr std::string_view kKeys[] = {"hosts", "certfile", "keyfile"};
        unknown_entry_key(k, field, name, kKeys);
        good = false;
      }
    }
    if (cert.hosts.empty() || cert.certfile.empty()) {
      error(item.source().begin, item_key + ": needs both hosts and certfile");
      good = false;
    }
    return good;
  });
}
bool TomlReader::read_headers(const std::string& key, const toml::node& n,
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

}  // namespace hearth::config

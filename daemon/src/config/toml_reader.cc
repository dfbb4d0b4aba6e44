#include "config/toml_reader.h"

#include <algorithm>
#include <sstream>

#include "config/apps.h"
#include "config/toml_source.h"
#include "config/units.h"

namespace hearth::config {

std::string toml_where(const std::string& path, const toml::source_position& pos) {
  return path + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

std::string toml_render(const toml::node& n) {
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

TomlReader::TomlReader(const std::string& path, Config& cfg, Provenance& prov, Scope scope)
    : path_(path), cfg_(cfg), prov_(prov), scope_(scope) {
  // Every row of the schema with a typed Field is read from the Field alone;
  // the Custom ones have their handlers in toml_entries.cc.
  for (const auto& k : schema()) {
    if (k.field.kind != Field::Kind::Custom) handlers_[std::string(k.key)] = from_field(k.field);
  }
  add_custom_handlers();
}

std::vector<std::string> TomlReader::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, h] : handlers_) out.push_back(k);
  return out;
}

std::vector<std::string> TomlReader::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
  std::vector<std::string> out;
  for (auto& e : errors_) out.push_back(std::move(e.message));
  return out;
}

void TomlReader::error(const toml::source_position& pos, std::string message) {
  errors_.push_back({pos, toml_where(path_, pos) + ": " + std::move(message)});
}

void TomlReader::bad(const std::string& key, const toml::node& n, std::string_view expected) {
  error(n.source().begin, key + ": expected " + std::string(expected) + ", got " + toml_render(n));
}

void TomlReader::ok(const std::string& key, const toml::node& n) {
  prov_.set(key, toml_where(path_, n.source().begin) + ": " + key);
}

void TomlReader::read_table(const toml::table& table, const std::string& section) {
  for (auto&& [k, node] : table) {
    std::string key = section.empty() ? std::string(k.str()) : section + "." + std::string(k.str());
    // An [[apps]] block's name, hosts and prefix are read by config/apps.cc.
    if (scope_ == Scope::AppBlock && section.empty() && (key == "name" || key == "hosts" || key == "prefix")) continue;
    auto h = handlers_.find(key);
    if (scope_ == Scope::AppBlock && !is_app_block_key(key)) {
      std::string msg;
      if (h != handlers_.end() && find_key(key)) {
        msg = "'" + key + "' cannot be set in an [[apps]] block: it applies to the whole daemon (set it at the top level)";
      } else {
        msg = "unknown key '" + key + "' in an [[apps]] block";
        std::string hint = suggest_app_block_key(key);
        if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      }
      error(k.source().begin, std::move(msg));
      continue;
    }
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

TomlReader::Handler TomlReader::from_field(const Field& f) {
  using Kind = Field::Kind;
  Config& c = cfg_;
  switch (f.kind) {
    case Kind::Section: return section();
    case Kind::String:
    case Kind::Secret: return string(f.text(c));
    case Kind::Bool: return boolean(f.flag(c));
    case Kind::Count: return count(f.u32(c));
    case Kind::Count64: return count64(f.u64(c));
    case Kind::Size: return size(f.u64(c));
    case Kind::Duration: return duration(f.millis(c));
    case Kind::Choice: return choice(f.text(c), f.parse, std::string(f.expected));
    case Kind::List: return list<std::string>(f.list(c), f.split_commas, f.parse, std::string(f.expected));
    case Kind::Custom: break;
  }
  return nullptr;
}

TomlReader::Handler TomlReader::section() {
  return [this](const std::string& key, const toml::node& n) {
    if (auto t = n.as_table()) {
      read_table(*t, key);
    } else {
      bad(key, n, "a table ([" + key + "])");
    }
  };
}
TomlReader::Handler TomlReader::duration(Millis* out) {
  return [this, out](const std::string& key, const toml::node& n) {
    std::optional<Millis> v;
    if (auto i = n.as_integer()) {
      if (i->get() >= 0) v = duration_from_seconds(static_cast<double>(i->get()));
    } else if (auto f = n.as_floating_point()) {
      v = duration_from_seconds(f->get());
    } else if (auto s = n.as_string()) {
      v = parse_duration(s->get());
    }
    if (!v) return bad(key, n, kDurationExpected);
    *out = *v;
    ok(key, n);
  };
}
TomlReader::Handler TomlReader::size(uint64_t* out) {
  return [this, out](const std::string& key, const toml::node& n) {
    std::optional<uint64_t> v;
    if (auto i = n.as_integer()) {
      if (i->get() >= 0) v = static_cast<uint64_t>(i->get());
    } else if (auto s = n.as_string()) {
      v = parse_size(s->get());
    }
    if (!v) return bad(key, n, kSizeExpected);
    *out = *v;
    ok(key, n);
  };
}
TomlReader::Handler TomlReader::count(uint32_t* out) {
  return [this, out](const std::string& key, const toml::node& n) {
    auto i = n.as_integer();
    if (!i || i->get() < 0) return bad(key, n, "a non-negative integer");
    if (i->get() > int64_t{UINT32_MAX}) {
      return error(n.source().begin, key + ": must be at most " + std::to_string(UINT32_MAX) + ", got " + toml_render(n));
    }
    *out = static_cast<uint32_t>(i->get());
    ok(key, n);
  };
}
TomlReader::Handler TomlReader::count64(uint64_t* out) {
  return [this, out](const std::string& key, const toml::node& n) {
    auto i = n.as_integer();
    if (!i || i->get() < 0) return bad(key, n, "a non-negative integer");
    *out = static_cast<uint64_t>(i->get());
    ok(key, n);
  };
}
TomlReader::Handler TomlReader::boolean(bool* out) {
  return [this, out](const std::string& key, const toml::node& n) {
    auto b = n.as_boolean();
    if (!b) return bad(key, n, "true or false");
    *out = b->get();
    ok(key, n);
  };
}
TomlReader::Handler TomlReader::string(std::string* out) {
  return [this, out](const std::string& key, const toml::node& n) {
    auto s = n.as_string();
    if (!s) return bad(key, n, "a string");
    *out = s->get();
    ok(key, n);
  };
}
// A string checked and canonicalized by `parse`.
TomlReader::Handler TomlReader::choice(std::string* out, std::optional<std::string> (*parse)(std::string_view), std::string expected) {
  return [this, out, parse, expected](const std::string& key, const toml::node& n) {
    std::optional<std::string> v;
    if (auto s = n.as_string()) v = parse(s->get());
    if (!v) return bad(key, n, expected);
    *out = *v;
    ok(key, n);
  };
}

}  // namespace hearth::config

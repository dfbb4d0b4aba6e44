#pragma once
// Internal to the config module: the TOML reader behind read_toml()
// (toml_source.h). One handler per key. Most come from the schema's Fields
// (toml_reader.cc: a size, a duration, a list, ...); keys whose value needs
// code of its own (Field::Kind::Custom: binds, env, umask, arrays of tables)
// have theirs in toml_entries.cc. Every problem is collected with its
// position; a key whose value is bad keeps its previous value.
#include <toml++/toml.h>

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/provenance.h"
#include "config/schema.h"

namespace hearth::config {

// "FILE:LINE:COL".
std::string toml_where(const std::string& path, const toml::source_position& pos);

// A value as the user wrote it, for "got ..." in messages.
std::string toml_render(const toml::node& n);

class TomlReader {
 public:
  TomlReader(const std::string& path, Config& cfg, Provenance& prov);

  void read(const toml::table& root) { read_table(root, ""); }

  // Every key with a handler, dotted.
  std::vector<std::string> keys() const;

  // The messages, "FILE:LINE:COL: ...", sorted by position.
  std::vector<std::string> take_errors();

 private:
  using Handler = std::function<void(const std::string& key, const toml::node&)>;
  struct Error {
    toml::source_position pos;
    std::string message;
  };

  void error(const toml::source_position& pos, std::string message);
  // "http.max_body_size: expected a size such as 10MiB, got \"10 potatoes\""
  void bad(const std::string& key, const toml::node& n, std::string_view expected);
  // Records where the key was set (provenance).
  void ok(const std::string& key, const toml::node& n);
  void read_table(const toml::table& table, const std::string& section);

  // --- toml_reader.cc: one factory per value type, and the schema's Fields ---
  Handler from_field(const Field& f);
  Handler section();
  Handler duration(Millis* out);
  Handler size(uint64_t* out);
  Handler count(uint32_t* out);
  Handler count64(uint64_t* out);
  Handler boolean(bool* out);
  Handler string(std::string* out);
  // A string checked and canonicalized by `parse`.
  Handler choice(std::string* out, std::optional<std::string> (*parse)(std::string_view), std::string expected);
  // A string, or an array of strings; each string is split by `split_commas`.
  // `accept` checks one item; the whole list is replaced only if all are good.
  template <typename T>
  Handler list(std::vector<T>* out, bool split_commas, std::function<std::optional<T>(std::string_view)> accept,
               std::string expected);

  // --- toml_entries.cc: the Field::Kind::Custom keys ---
  void add_custom_handlers();
  Handler env_table(std::map<std::string, std::string>* out);
  template <typename T, typename ReadEntry>
  Handler array_of_tables(std::vector<T>* out, std::string_view array_kind, std::string_view table_kind,
                          ReadEntry read_entry);
  void unknown_entry_key(const toml::key& k, const std::string& field, std::string_view name,
                         std::span<const std::string_view> known);
  Handler warmup_requests(std::vector<WarmupRequest>* out);
  Handler static_mounts(std::vector<StaticMount>* out);
  Handler rate_limit_rules(std::vector<RateLimitRule>* out);
  Handler error_page_entries(std::vector<ErrorPage>* out);
  Handler tls_certificates(std::vector<TlsCertificate>* out);
  bool read_headers(const std::string& key, const toml::node& n,
                    std::vector<std::pair<std::string, std::string>>& out);

  const std::string& path_;
  Config& cfg_;
  Provenance& prov_;
  std::map<std::string, Handler> handlers_;
  std::vector<Error> errors_;
};

template <typename T>
TomlReader::Handler TomlReader::list(std::vector<T>* out, bool split_commas,
                                     std::function<std::optional<T>(std::string_view)> accept, std::string expected) {
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

}  // namespace hearth::config

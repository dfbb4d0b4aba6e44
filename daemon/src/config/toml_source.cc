#include "config/toml_source.h"

#include <toml++/toml.h>

#include "config/edit_distance.h"
#include "config/schema.h"
#include "config/toml_reader.h"

namespace hearth::config {
namespace {

// The keys themselves are listed in schema.cc; the reader (toml_reader.h)
// has a handler for each, most of them made from the row's Field.

// "http.max_body_size" -> {"http", "max_body_size"}; {"", "workers"} at the top level.
std::pair<std::string_view, std::string_view> split_key(std::string_view key) {
  size_t dot = key.rfind('.');
  if (dot == std::string_view::npos) return {std::string_view(), key};
  return {key.substr(0, dot), key.substr(dot + 1)};
}

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
  TomlReader reader(path, cfg, prov);
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
    errors.push_back(toml_where(path, e.source().begin) + ": " + explain_parse_error(e.description()));
    return false;
  }
  TomlReader reader(path, cfg, prov);
  reader.read(root);
  for (auto& e : reader.take_errors()) errors.push_back(std::move(e));
  return true;
}

}  // namespace hearth::config

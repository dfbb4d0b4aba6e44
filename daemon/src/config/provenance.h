#pragma once
// Where each setting's final value came from, so that cross-field validation
// can point at it like the parsers do: "hearth.toml:12:3: timeout",
// "--timeout", "$WEB_CONCURRENCY". Keys are dotted config keys ("http.max_headers").
#include <map>
#include <string>

namespace hearth::config {

class Provenance {
 public:
  // `label` is the full prefix for messages about `key`; a later set() wins,
  // mirroring the precedence of the sources.
  void set(const std::string& key, std::string label) { labels_[key] = std::move(label); }

  // The label recorded for `key`, or the bare key for a built-in default.
  std::string label(const std::string& key) const {
    auto it = labels_.find(key);
    return it == labels_.end() ? key : it->second;
  }

 private:
  std::map<std::string, std::string> labels_;
};

}  // namespace hearth::config

#pragma once
// A small JSON reader for the control protocol's answers (hearthctl and
// tests). Not a general-purpose library: no streaming, numbers as double.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::control {

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::map<std::string, JsonValue> object;

  const JsonValue* get(const std::string& key) const;
  double num(const std::string& key, double dflt = 0) const;
  std::string str(const std::string& key, const std::string& dflt = "") const;
  bool flag(const std::string& key, bool dflt = false) const;
};

// nullopt on malformed input.
std::optional<JsonValue> parse_json(std::string_view text);

}  // namespace hearth::control

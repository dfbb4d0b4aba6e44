#include "control/json_value.h"

#include <cstdlib>

namespace hearth::control {
namespace {

struct Parser {
  std::string_view s;
  std::size_t i = 0;
  int depth = 0;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  bool lit(std::string_view w) {
    if (s.substr(i, w.size()) != w) return false;
    i += w.size();
    return true;
  }
  bool string(std::string* out) {
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    while (i < s.size()) {
      char c = s[i++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i >= s.size()) return false;
      char e = s[i++];
      switch (e) {
        case 'n': out->push_back('\n'); break;
        case 't': out->push_back('\t'); break;
        case 'r': out->push_back('\r'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'u': {
          if (i + 4 > s.size()) return false;
          unsigned v = static_cast<unsigned>(std::strtoul(std::string(s.substr(i, 4)).c_str(), nullptr, 16));
          i += 4;
          if (v < 0x80) {
            out->push_back(static_cast<char>(v));
          } else if (v < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (v >> 6)));
            out->push_back(static_cast<char>(0x80 | (v & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (v >> 12)));
            out->push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (v & 0x3F)));
          }
          break;
        }
        default: out->push_back(e);
      }
    }
    return false;
  }
  bool value(JsonValue* v) {
    if (++depth > 64) return false;
    ws();
    if (i >= s.size()) return false;
    char c = s[i];
    bool ok = true;
    if (c == '{') {
      v->kind = JsonValue::Kind::Object;
      ++i;
      ws();
      if (i < s.size() && s[i] == '}') {
        ++i;
      } else {
        while (ok) {
          ws();
          std::string key;
          if (!string(&key)) return false;
          ws();
          if (i >= s.size() || s[i++] != ':') return false;
          JsonValue child;
          if (!value(&child)) return false;
          v->object[key] = std::move(child);
          ws();
          if (i < s.size() && s[i] == ',') { ++i; continue; }
          if (i < s.size() && s[i] == '}') { ++i; break; }
          return false;
        }
      }
    } else if (c == '[') {
      v->kind = JsonValue::Kind::Array;
      ++i;
      ws();
      if (i < s.size() && s[i] == ']') {
        ++i;
      } else {
        while (true) {
          JsonValue child;
          if (!value(&child)) return false;
          v->array.push_back(std::move(child));
          ws();
          if (i < s.size() && s[i] == ',') { ++i; continue; }
          if (i < s.size() && s[i] == ']') { ++i; break; }
          return false;
        }
      }
    } else if (c == '"') {
      v->kind = JsonValue::Kind::String;
      ok = string(&v->string);
    } else if (lit("true")) {
      v->kind = JsonValue::Kind::Bool;
      v->boolean = true;
    } else if (lit("false")) {
      v->kind = JsonValue::Kind::Bool;
    } else if (lit("null")) {
      v->kind = JsonValue::Kind::Null;
    } else {
      std::string num(s.substr(i, 40));
      char* end = nullptr;
      v->number = std::strtod(num.c_str(), &end);
      if (end == num.c_str()) return false;
      v->kind = JsonValue::Kind::Number;
      i += static_cast<std::size_t>(end - num.c_str());
    }
    --depth;
    return ok;
  }
};

}  // namespace

const JsonValue* JsonValue::get(const std::string& key) const {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}
double JsonValue::num(const std::string& key, double dflt) const {
  auto v = get(key);
  return v && v->kind == Kind::Number ? v->number : dflt;
}
std::string JsonValue::str(const std::string& key, const std::string& dflt) const {
  auto v = get(key);
  return v && v->kind == Kind::String ? v->string : dflt;
}
bool JsonValue::flag(const std::string& key, bool dflt) const {
  auto v = get(key);
  return v && v->kind == Kind::Bool ? v->boolean : dflt;
}

std::optional<JsonValue> parse_json(std::string_view text) {
  Parser p{text};
  JsonValue v;
  if (!p.value(&v)) return std::nullopt;
  p.ws();
  if (p.i != text.size()) return std::nullopt;
  return v;
}

}  // namespace hearth::control

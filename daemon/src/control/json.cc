#include "control/json.h"

#include <boost/json/parse.hpp>

namespace hearth::control {

std::optional<boost::json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

double num(const boost::json::object& o, std::string_view key, double dflt) {
  const boost::json::value* v = o.if_contains(key);
  if (!v || !v->is_number()) return dflt;
  boost::system::error_code ec;
  double d = v->to_number<double>(ec);
  return ec ? dflt : d;
}

std::string str(const boost::json::object& o, std::string_view key, const std::string& dflt) {
  const boost::json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return dflt;
  return std::string(v->get_string());
}

bool flag(const boost::json::object& o, std::string_view key, bool dflt) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_bool() ? v->get_bool() : dflt;
}

const boost::json::object* object_at(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

const boost::json::array* array_at(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

}  // namespace hearth::control

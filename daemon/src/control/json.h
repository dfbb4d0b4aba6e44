#pragma once
// Reading the control protocol's JSON (hearthctl, tests) with Boost.JSON:
// lenient getters that give a default for a missing key or a value of
// another kind, so an answer from an older or newer hearthd still prints.
// The daemon writes its answers with boost::json::object (commands.cc).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::control {

// The document when it is one JSON object; nullopt when malformed, another
// kind of value, or followed by anything but white space.
std::optional<boost::json::object> parse_object(std::string_view text);

// o[key] as a number (any JSON number), else dflt.
double num(const boost::json::object& o, std::string_view key, double dflt = 0);
// o[key] as a string, else dflt.
std::string str(const boost::json::object& o, std::string_view key, const std::string& dflt = "");
// o[key] as a boolean, else dflt.
bool flag(const boost::json::object& o, std::string_view key, bool dflt = false);
// o[key] when it is an object (an array), else nullptr.
const boost::json::object* object_at(const boost::json::object& o, std::string_view key);
const boost::json::array* array_at(const boost::json::object& o, std::string_view key);

}  // namespace hearth::control

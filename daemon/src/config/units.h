#pragma once
// Pure parsers and formatters for the value syntaxes used in every config
// source (TOML file, CLI, environment). Each parser returns std::nullopt on
// bad input; the caller knows which key or flag it was and says so.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace hearth::config {

// Durations: "250ms", "10s", "1.5s", "10m", "2h", "1m30s" (units ms|s|m|h,
// case-insensitive, components in any combination), or a bare number of
// seconds ("30", "0.5"). Rejects empty, negative and overflowing input.
std::optional<Millis> parse_duration(std::string_view text);

// A TOML/JSON-style number of seconds (may be fractional). Rejects negative,
// NaN, infinite and out-of-range values.
std::optional<Millis> duration_from_seconds(double seconds);

// Sizes: "512" (bytes), "64KiB"/"64K" (x1024), "64KB" (x1000), same for
// M/MB/MiB, G/GB/GiB and T/TB/TiB, "B" for bytes; units are case-insensitive
// and may be separated from the number by spaces; "1.5MiB" truncates to whole
// bytes. Rejects empty, negative and overflowing input.
std::optional<uint64_t> parse_size(std::string_view text);

// A non-negative decimal integer that fits `max` ("007" is fine, "+1", "1.0",
// " 1" are not).
std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max);

// A request rate: "10/s", "600/m", "1000/h" (also nginx's "10r/s"); the
// count a positive decimal (may be fractional: "0.5/s"). Requests per second.
std::optional<double> parse_rate(std::string_view text);

// What a bad duration or size should have been, in every source's messages
// ("timeout: expected a duration such as ..., got ...").
inline constexpr std::string_view kDurationExpected = "a duration such as 30s, 250ms or 1m30s (a number means seconds)";
inline constexpr std::string_view kSizeExpected = "a size such as 10MiB";

// Canonical spellings, chosen so that parse_duration(format_duration(d)) == d
// and parse_size(format_size(n)) == n: "250ms", "30s", "1m30s", "2h", "10MiB".
std::string format_duration(Millis d);
std::string format_size(uint64_t bytes);

}  // namespace hearth::config

namespace hearth::config {

// log.level: error|warn|info|debug, case-insensitive; gunicorn's "warning"
// and "critical" are accepted as warn and error. Returns the canonical name.
std::optional<std::string> parse_log_level(std::string_view text);

// interface: wsgi|asgi|auto; lifespan: auto|on|off (case-insensitive), canonical name.
std::optional<std::string> parse_interface(std::string_view text);
std::optional<std::string> parse_lifespan(std::string_view text);
// log.access_log_format: combined|json (case-insensitive), canonical name.
std::optional<std::string> parse_access_log_format(std::string_view text);
// A file-mode mask in octal: "027", "0027", "0o027"; nullopt above 0777 or not octal.
std::optional<uint32_t> parse_umask(std::string_view text);

// tls.min_version: "1.2" or "1.3" (also "TLSv1.2", any case). Returns "1.2" or "1.3".
std::optional<std::string> parse_tls_version(std::string_view text);

}  // namespace hearth::config

namespace hearth::config {

// One item of a list key (config file: an array, or a string split on commas).
// Each trims spaces and returns nullopt for an empty or bad item.
std::optional<std::string> parse_list_item(std::string_view text);        // any non-empty text
std::optional<std::string> parse_allow_ip_item(std::string_view text);    // IP, CIDR range or "*"
std::optional<std::string> parse_http_method(std::string_view text);      // a method token, upper-cased
std::optional<std::string> parse_compression_algorithm(std::string_view text);  // "br" or "gzip", lower-cased
std::optional<std::string> parse_media_type(std::string_view text);       // "type/subtype" or "type/*", lower-cased

}  // namespace hearth::config

#pragma once
// Listening addresses and address lists: pure parsers, no sockets, no DNS.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace hearth::config {

// Accepts "HOST:PORT" (HOST an IPv4 literal or "localhost" = 127.0.0.1),
// "[V6]:PORT", ":PORT" or "PORT" (all IPv4 interfaces, 0.0.0.0), "HOST" alone
// (port 8000, as gunicorn does), and "unix:/path". Port 0..65535. Bind::text
// keeps the original text. Hostnames other than localhost are rejected: the
// daemon does not resolve names at start-up.
std::optional<Bind> parse_bind(std::string_view text);

// What parse_bind accepts, for messages: "an address such as 127.0.0.1:8000, [::1]:8000, :8000 or unix:/path".
inline constexpr std::string_view kBindExpected =
    "an address such as 127.0.0.1:8000, [::1]:8000, :8000 or unix:/path";

// "127.0.0.1:8000", "[::1]:8000", "unix:/run/hearth.sock": the canonical form.
std::string to_string(const Bind& b);

// True for a Unix socket or a TCP address only this host can reach (127.0.0.0/8, ::1).
bool is_loopback(const Bind& b);

// True when binding both would fail or be ambiguous: the same Unix path, or
// the same non-zero port on the same address or a wildcard of the same family.
bool binds_conflict(const Bind& a, const Bind& b);

// forwarded_allow_ips: "*" alone, or IP addresses / CIDR ranges separated by
// commas ("127.0.0.1, 10.0.0.0/8, ::1"). Surrounding spaces are trimmed.
std::optional<std::vector<std::string>> parse_allow_ips(std::string_view text);
// One entry of the above: "*", an IP address, or a CIDR range.
bool is_allow_ip_entry(std::string_view entry);

}  // namespace hearth::config

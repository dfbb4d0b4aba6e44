#pragma once
// Small pure checks used by the front door to validate a request head.
// No I/O; unit-tested in tests/unit/http.
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/ascii.h"

namespace hearth::http {

// True when `value` holds no NUL/CTL byte other than HTAB (and no DEL).
bool is_valid_field_value(std::string_view value);
// RFC 9110 token (method, header name).
bool is_token(std::string_view s);
// origin-form ("/..."), absolute-form ("http://host/..."), or "*" for OPTIONS.
bool is_valid_target(std::string_view method, std::string_view target);
// A Host value (or an absolute-form authority): `host [ ":" port ]` with host
// a reg-name (letters, digits, "-._~", sub-delims, %HH), an IPv4 address or a
// bracketed IPv6 literal, and port 0-5 digits. Empty is allowed (RFC 9112 3.2:
// a target without an authority is sent with an empty Host). Userinfo ("@"),
// paths, spaces and anything else: false.
bool is_valid_host(std::string_view value);
// The authority of an absolute-form target ("http://a:1/p" -> "a:1"); empty
// for any other form.
std::string_view absolute_form_authority(std::string_view target);
// Transfer-Encoding value acceptable for a request: exactly "chunked" (case-insensitive,
// surrounding whitespace allowed), nothing else in the list.
bool is_plain_chunked(std::string_view te_value);
// Strict decimal Content-Length (no sign, no list, no whitespace inside); nullopt if bad.
std::optional<uint64_t> parse_content_length(std::string_view value);
// ASCII case-insensitive comparison (common/ascii.h), here for the callers in http.
using ascii::iequals;
// Strips leading/trailing SP and HTAB.
std::string_view trim_ows(std::string_view s);

}  // namespace hearth::http

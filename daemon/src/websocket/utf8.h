#pragma once
// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF. RFC 6455 requires it of text messages and close reasons.
#include <string_view>

namespace hearth::websocket {

[[nodiscard]] bool valid_utf8(std::string_view s);

}  // namespace hearth::websocket

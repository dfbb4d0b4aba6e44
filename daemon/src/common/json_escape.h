#pragma once
// JSON string escaping shared by the access log, the worker protocol and the
// control replies: one home instead of a copy per module.
//
// UTF-8 is written as UTF-8 ("é" stays the two bytes C3 A9). Escaped: '"' and
// '\\'; \n \r \t \b \f in their short forms; every other control byte
// (U+0000..U+001F) and DEL as \u00XX. Bytes that are not part of well-formed
// UTF-8 (a stray continuation byte, a truncated or overlong sequence, a
// surrogate, anything above U+10FFFF) are written one by one as \u00XX, the
// byte's value: the output is always valid JSON, and a reader of the raw line
// can still tell which bytes the client sent (a JSON decoder shows them as
// the Latin-1 characters U+0080..U+00FF). Request bytes are not necessarily
// UTF-8, so this is chosen over U+FFFD, which would lose them.
#include <string>
#include <string_view>

namespace hearth::json {

// Appends the escaped bytes of v to out (no quotes around them).
void append_escaped(std::string& out, std::string_view v);
// '"' + append_escaped(v) + '"'.
void append_quoted(std::string& out, std::string_view v);
// The escaped bytes of v as a new string (no quotes).
std::string escaped(std::string_view v);

}  // namespace hearth::json

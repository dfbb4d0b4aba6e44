#pragma once
#include <string>

namespace hearth::control {
// Where hearthd listens for hearthctl when control_socket is not set, and
// where hearthctl looks by default: $XDG_RUNTIME_DIR/hearthd.sock, else
// /tmp/hearthd-<uid>.sock.
std::string default_socket_path();
}  // namespace hearth::control

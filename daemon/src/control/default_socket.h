#pragma once
#include <sys/types.h>

#include <string>

namespace hearth::control {

// The packaged service's control socket (hearthd.service: RuntimeDirectory=hearth),
// and the directory root's default socket lives in.
inline constexpr const char* kServiceSocketPath = "/run/hearth/hearthd.sock";
inline constexpr const char* kRunDir = "/run/hearth";

// Where hearthd listens for hearthctl when control_socket is not set, and
// where hearthctl looks by default, never in a world-writable directory when
// a private one exists: $XDG_RUNTIME_DIR/hearthd.sock (when set and
// writable), else for root /run/hearth/hearthd.sock (when /run/hearth exists
// or /run is writable: hearthd creates it), else /tmp/hearthd-<uid>.sock.
std::string default_socket_path();

// The same decision, pure: `xdg` is $XDG_RUNTIME_DIR if set, non-empty and
// writable (else empty); `run_usable`: /run/hearth exists or can be created.
std::string default_socket_path(const std::string& xdg, uid_t euid, bool run_usable);

// Creates /run/hearth (0755, root's) when `path` is the root default inside
// it and it is missing. "" or what failed.
[[nodiscard]] std::string prepare_default_socket_dir(const std::string& path);

}  // namespace hearth::control

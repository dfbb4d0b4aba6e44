#include "control/default_socket.h"

#include <unistd.h>

#include <cstdlib>

namespace hearth::control {

std::string default_socket_path() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg && ::access(xdg, W_OK) == 0) return std::string(xdg) + "/hearthd.sock";
  return "/tmp/hearthd-" + std::to_string(::geteuid()) + ".sock";
}

}  // namespace hearth::control

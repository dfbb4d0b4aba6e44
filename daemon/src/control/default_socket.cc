#include "control/default_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hearth::control {

std::string default_socket_path(const std::string& xdg, uid_t euid, bool run_usable) {
  if (!xdg.empty()) return xdg + "/hearthd.sock";
  if (euid == 0 && run_usable) return std::string(kRunDir) + "/hearthd.sock";
  return "/tmp/hearthd-" + std::to_string(euid) + ".sock";
}

std::string default_socket_path() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  std::string dir = (xdg && *xdg && ::access(xdg, W_OK) == 0) ? std::string(xdg) : std::string();
  const uid_t euid = ::geteuid();
  bool run_usable = false;
  if (euid == 0) {
    struct stat st {};
    run_usable = ::stat(kRunDir, &st) == 0 ? S_ISDIR(st.st_mode) : ::access("/run", W_OK) == 0;
  }
  return default_socket_path(dir, euid, run_usable);
}

std::string prepare_default_socket_dir(const std::string& path) {
  if (path != std::string(kRunDir) + "/hearthd.sock") return {};
  if (::mkdir(kRunDir, 0755) != 0 && errno != EEXIST) {
    return std::string("cannot create ") + kRunDir + ": " + std::strerror(errno);
  }
  return {};
}

}  // namespace hearth::control

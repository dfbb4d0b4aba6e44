// hearthctl: talks to a running hearthd over its control socket.
//   hearthctl [--socket PATH] [--json] status | stop | reload | upgrade | scale N
// Exit codes: 0 ok, 1 the daemon refused or reported a failure, 2 usage,
// 3 the daemon could not be reached.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "control/default_socket.h"
#include "ctl/status_format.h"

namespace {

const char* kUsage =
    "usage: hearthctl [--socket PATH] [--json] COMMAND\n"
    "\n"
    "commands:\n"
    "  status        workers, their state, requests, memory and the queue\n"
    "  stop          graceful shutdown (finish in-flight requests, then exit)\n"
    "  reload        rolling reload of the app's code (waits for the outcome)\n"
    "  scale N       set the number of workers\n"
    "  upgrade       start the hearthd binary on disk with the same arguments, hand it\n"
    "                the listening sockets, and drain this one once the new one serves\n"
    "                (no connection is refused; waits for the outcome)\n"
    "\n"
    "options:\n"
    "  --socket PATH  the daemon's control socket (default: hearthd's default,\n"
    "                 $XDG_RUNTIME_DIR/hearthd.sock or /tmp/hearthd-UID.sock,\n"
    "                 else the packaged service's /run/hearth/hearthd.sock)\n"
    "  --json         print the daemon's JSON answer as is\n"
    "  --version      print the version\n";

int connect_unix(const std::string& path, std::string* err) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = std::strerror(errno);
    return -1;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *err = "path too long";
    ::close(fd);
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *err = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = hearth::control::default_socket_path();
  // The packaged service's socket (hearthd.service), when the per-user default is absent.
  const char* kServiceSocket = "/run/hearth/hearthd.sock";
  if (::access(socket_path.c_str(), F_OK) != 0 && ::access(kServiceSocket, F_OK) == 0) socket_path = kServiceSocket;
  bool json = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" || a == "-s") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hearthctl: --socket needs a path\n");
        return 2;
      }
      socket_path = argv[++i];
    } else if (a.rfind("--socket=", 0) == 0) {
      socket_path = a.substr(9);
    } else if (a == "--json") {
      json = true;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("hearthctl 0.1.0\n");
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "hearthctl: unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      words.push_back(a);
    }
  }
  if (words.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = words[0];
  if (cmd == "scale") {
    if (words.size() != 2 || words[1].find_first_not_of("0123456789") != std::string::npos) {
      std::fprintf(stderr, "hearthctl: usage: hearthctl scale N\n");
      return 2;
    }
    cmd += " " + words[1];
  } else if (cmd != "status" && cmd != "stop" && cmd != "reload" && cmd != "upgrade") {
    std::fprintf(stderr, "hearthctl: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 2;
  } else if (words.size() != 1) {
    std::fprintf(stderr, "hearthctl: '%s' takes no arguments\n", cmd.c_str());
    return 2;
  }

  std::string err;
  int fd = connect_unix(socket_path, &err);
  if (fd < 0) {
    std::fprintf(stderr, "hearthctl: cannot reach hearthd at %s: %s\n", socket_path.c_str(), err.c_str());
    return 3;
  }
  std::string line = cmd + "\n";
  bool sent = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  int send_errno = errno;
  std::string answer;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (answer.empty()) {
    // The daemon may have answered (a refusal) before our send failed: only
    // report the send error when there is no answer to show.
    if (!sent) std::fprintf(stderr, "hearthctl: sending the command failed: %s\n", std::strerror(send_errno));
    else std::fprintf(stderr, "hearthctl: hearthd closed the connection without answering\n");
    return 3;
  }
  bool ok = answer.find("\"ok\":true") != std::string::npos;
  if (json) {
    std::fputs(answer.c_str(), stdout);
  } else if (words[0] == "status" && ok) {
    std::fputs(hearth::ctl::format_status(answer).c_str(), stdout);
  } else {
    std::fputs(hearth::ctl::format_message(answer).c_str(), ok ? stdout : stderr);
  }
  return ok ? 0 : 1;
}

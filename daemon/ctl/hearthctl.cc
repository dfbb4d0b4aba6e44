// hearthctl: talks to a running hearthd over its control socket.
//   hearthctl [--socket PATH] [--json] [--color=WHEN] status | stop | reload | upgrade | scale N
// Exit codes: 0 ok, 1 the daemon refused or reported a failure, 2 usage,
// 3 the daemon could not be reached.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "build_version.h"
#include "control/default_socket.h"
#include "control/socket_trust.h"
#include "ctl/color.h"
#include "ctl/status_format.h"

namespace {

const char* kUsage =
    "usage: hearthctl [OPTIONS] COMMAND\n"
    "\n"
    "Control a running hearthd over its Unix control socket.\n"
    "\n"
    "Commands:\n"
    "  status [APP]  workers, their state, requests, memory (RSS/PSS/USS) and the queue\n"
    "  reload [APP]  rolling reload of the app's code; waits for the outcome\n"
    "  scale N       set the number of workers (N >= 1); `scale APP N` for one app\n"
    "                APP: one app of [[apps]]; without it, every app (scale: the only one)\n"
    "  stop          graceful shutdown: finish in-flight requests, then exit\n"
    "  upgrade       start the hearthd binary on disk with the same arguments, hand it\n"
    "                the listening sockets, and drain this one once the new one serves\n"
    "                (no connection is refused; waits for the outcome)\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH   the daemon's control socket (hearthd's control_socket;\n"
    "                      default $XDG_RUNTIME_DIR/hearthd.sock, else for root\n"
    "                      /run/hearth/hearthd.sock, else /tmp/hearthd-UID.sock,\n"
    "                      else the packaged service's /run/hearth/hearthd.sock).\n"
    "                      A socket owned by anyone but root or you is refused\n"
    "                      (unless only root could have put it there), and so is\n"
    "                      a listener running as anyone else\n"
    "  -j, --json          print the daemon's answer as JSON, one line\n"
    "      --color[=WHEN]  colour the output: auto (on a terminal, unless $NO_COLOR\n"
    "                      is set), always or never [default: auto]\n"
    "      --no-color      same as --color=never\n"
    "  -h, --help          show this help and exit\n"
    "  -V, --version       show the version and exit\n"
    "\n"
    "Exit status: 0 ok, 1 the daemon refused or the command failed, 2 usage error,\n"
    "3 hearthd could not be reached.\n"
    "\n"
    "Examples:\n"
    "  hearthctl status\n"
    "  hearthctl --socket /run/hearth/ctl.sock reload\n"
    "  hearthctl --json status | python3 -m json.tool\n"
    "\n"
    "Shell completion: packaging/completion/hearthctl.bash (bash), _hearthctl (zsh).\n";

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

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "hearthctl: %s\nTry 'hearthctl --help' for more information.\n", msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = hearth::control::default_socket_path();
  // The packaged service's socket (hearthd.service), when the per-user default is absent.
  const std::string kServiceSocket = hearth::control::kServiceSocketPath;
  if (::access(socket_path.c_str(), F_OK) != 0 && ::access(kServiceSocket.c_str(), F_OK) == 0) socket_path = kServiceSocket;
  bool json = false;
  hearth::ctl::ColorMode color = hearth::ctl::ColorMode::Auto;
  std::vector<std::string> words;
  bool only_words = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (only_words || a.empty() || a[0] != '-') {
      words.push_back(a);
    } else if (a == "--") {
      only_words = true;
    } else if (a == "--socket" || a == "-s") {
      if (i + 1 >= argc) return usage_error(a + " needs a path");
      socket_path = argv[++i];
    } else if (a.rfind("--socket=", 0) == 0) {
      socket_path = a.substr(9);
    } else if (a == "--json" || a == "-j") {
      json = true;
    } else if (a == "--color" || a == "--colour") {
      color = hearth::ctl::ColorMode::Always;
    } else if (a.rfind("--color=", 0) == 0 || a.rfind("--colour=", 0) == 0) {
      auto m = hearth::ctl::parse_color_mode(a.substr(a.find('=') + 1));
      if (!m) return usage_error(a.substr(0, a.find('=')) + ": expected auto, always or never, got '" +
                                 a.substr(a.find('=') + 1) + "'");
      color = *m;
    } else if (a == "--no-color" || a == "--no-colour") {
      color = hearth::ctl::ColorMode::Never;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version" || a == "-V") {
      std::fputs(hearth::build::version_text("hearthctl").c_str(), stdout);
      return 0;
    } else {
      return usage_error("unknown option " + a);
    }
  }
  const hearth::ctl::Paint paint(
      hearth::ctl::use_color(color, ::isatty(STDOUT_FILENO) == 1, std::getenv("NO_COLOR"), std::getenv("TERM")));
  const hearth::ctl::Paint paint_err(
      hearth::ctl::use_color(color, ::isatty(STDERR_FILENO) == 1, std::getenv("NO_COLOR"), std::getenv("TERM")));
  if (!words.empty() && words[0] == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (words.empty()) return usage_error("no command given (status, reload, scale N or stop)");
  std::string cmd = words[0];
  if (cmd == "scale") {
    // scale N, or scale APP N ([[apps]]: with several apps the name is needed).
    if (words.size() < 2 || words.size() > 3 || words.back().find_first_not_of("0123456789") != std::string::npos) {
      return usage_error("usage: hearthctl scale [APP] N (N a number of workers)");
    }
    for (size_t i = 1; i < words.size(); ++i) cmd += " " + words[i];
  } else if (cmd != "status" && cmd != "stop" && cmd != "reload" && cmd != "upgrade") {
    return usage_error("unknown command '" + cmd + "' (status, reload, upgrade, scale N or stop)");
  } else if (cmd == "status" || cmd == "reload") {
    if (words.size() > 2) return usage_error("'" + cmd + "' takes at most one argument (an app name)");
    if (words.size() == 2) cmd += " " + words[1];  // one app of [[apps]]
  } else if (words.size() != 1) {
    return usage_error("'" + cmd + "' takes no arguments");
  }

  // Whom we talk to: a socket (and a listener) of root, of ours, or of the
  // owner of a directory only root could have set up (control/socket_trust.h).
  const uid_t ruid = ::getuid();
  const uid_t euid = ::geteuid();
  hearth::control::SocketCheck trust = hearth::control::check_socket_file(socket_path, ruid, euid);
  if (!trust.error.empty()) {
    std::fprintf(stderr, "hearthctl: %s\n", trust.error.c_str());
    return 3;
  }
  std::string err;
  int fd = connect_unix(socket_path, &err);
  if (fd < 0) {
    std::fprintf(stderr,
                 "hearthctl: cannot reach hearthd at %s: %s\n"
                 "(is hearthd running? give its control socket with --socket PATH)\n",
                 socket_path.c_str(), err.c_str());
    return 3;
  }
  if (std::string peer = hearth::control::check_peer(fd, ruid, euid, trust.delegated); !peer.empty()) {
    ::close(fd);  // nothing was sent
    std::fprintf(stderr, "hearthctl: %s (%s)\n", peer.c_str(), socket_path.c_str());
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
    if (answer.back() != '\n') std::fputc('\n', stdout);
  } else if (words[0] == "status" && ok) {
    std::fputs(hearth::ctl::format_status(answer, paint).c_str(), stdout);
  } else {
    std::fputs(hearth::ctl::format_message(answer, ok ? paint : paint_err).c_str(), ok ? stdout : stderr);
  }
  return ok ? 0 : 1;
}

#include "app/socket_activation.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cstdlib>
#include <cstring>

#include "config/bind.h"

namespace hearth::app {

namespace {

std::optional<long> to_long(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || !end || *end != '\0') return std::nullopt;
  return v;
}

const std::string* find(const std::map<std::string, std::string>& env, const char* key) {
  auto it = env.find(key);
  return it == env.end() ? nullptr : &it->second;
}

std::string strip_brackets(std::string h) {
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h == "localhost") h = "127.0.0.1";
  if (h.empty()) h = "0.0.0.0";
  return h;
}

bool same_host(const std::string& a, const std::string& b) {
  std::string x = strip_brackets(a), y = strip_brackets(b);
  boost::system::error_code e1, e2;
  auto ax = boost::asio::ip::make_address(x, e1);
  auto ay = boost::asio::ip::make_address(y, e2);
  if (e1 || e2) return x == y;
  return ax == ay;
}

}  // namespace

std::optional<ListenEnv> parse_listen_env(const std::map<std::string, std::string>& env, pid_t pid, pid_t ppid,
                                          std::string* error) {
  error->clear();
  const std::string* fds = find(env, "LISTEN_FDS");
  if (!fds) return std::nullopt;
  ListenEnv out;
  const std::string* lpid = find(env, "LISTEN_PID");
  const std::string* from = find(env, "HEARTH_UPGRADE_FROM");
  if (lpid) {
    auto p = to_long(*lpid);
    if (!p || *p != pid) return std::nullopt;  // meant for another process (systemd's rule)
  } else if (from) {
    auto p = to_long(*from);
    if (!p || *p != ppid) return std::nullopt;  // not our parent: a stale variable
    out.upgrade = true;
  } else {
    return std::nullopt;
  }
  auto n = to_long(*fds);
  if (!n || *n < 0 || *n > 1024) {
    *error = "LISTEN_FDS=" + *fds + " is not a socket count";
    return std::nullopt;
  }
  out.count = static_cast<int>(*n);
  if (const std::string* names = find(env, "LISTEN_FDNAMES")) {
    std::size_t start = 0;
    while (true) {
      auto colon = names->find(':', start);
      out.names.push_back(names->substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (out.names.size() != static_cast<std::size_t>(out.count)) {
      *error = "LISTEN_FDNAMES names " + std::to_string(out.names.size()) + " socket(s) but LISTEN_FDS=" + *fds;
      return std::nullopt;
    }
  } else {
    out.names.assign(static_cast<std::size_t>(out.count), std::string());
  }
  if (out.upgrade) {
    if (const std::string* rfd = find(env, "HEARTH_UPGRADE_FD")) {
      auto v = to_long(*rfd);
      if (!v || *v < 3) {
        *error = "HEARTH_UPGRADE_FD=" + *rfd + " is not a file descriptor";
        return std::nullopt;
      }
      out.upgrade_ready_fd = static_cast<int>(*v);
    }
  }
  return out;
}

bool bind_matches(const config::Bind& configured, const config::Bind& actual) {
  if (configured.kind != actual.kind) return false;
  if (configured.kind == config::Bind::Kind::Unix) return configured.path == actual.path;
  if (configured.port != 0 && configured.port != actual.port) return false;
  return same_host(configured.host, actual.host);
}

ActivationPlan plan_activation(const std::vector<config::Bind>& binds, const std::optional<config::Bind>& admin,
                               const std::string& control_path, const std::vector<InheritedSocket>& inherited) {
  ActivationPlan plan;
  plan.app.assign(binds.size(), -1);
  std::vector<bool> taken(inherited.size(), false);
  auto is_unix_at = [](const InheritedSocket& s, const std::string& path) {
    return !path.empty() && s.address.kind == config::Bind::Kind::Unix && s.address.path == path;
  };
  // The control socket: by name, else by its path.
  for (std::size_t i = 0; i < inherited.size() && plan.control < 0; ++i) {
    if (inherited[i].name == "control" || (inherited[i].name.empty() && is_unix_at(inherited[i], control_path))) {
      taken[i] = true;
      if (is_unix_at(inherited[i], control_path)) plan.control = static_cast<int>(i);
      else plan.unused.push_back(static_cast<int>(i));  // another path than configured now
    }
  }
  // The admin listener: by name, else by an exact (non-zero port) address.
  for (std::size_t i = 0; i < inherited.size(); ++i) {
    if (taken[i]) continue;
    const auto& s = inherited[i];
    bool named = s.name == "admin";
    bool by_address = s.name.empty() && admin && admin->port != 0 && bind_matches(*admin, s.address);
    if (!named && !by_address) continue;
    taken[i] = true;
    if (admin && plan.admin < 0 && bind_matches(*admin, s.address)) plan.admin = static_cast<int>(i);
    else plan.unused.push_back(static_cast<int>(i));
  }
  // App binds, in order: the first unclaimed socket with a matching address.
  for (std::size_t b = 0; b < binds.size(); ++b) {
    for (std::size_t i = 0; i < inherited.size(); ++i) {
      if (taken[i] || inherited[i].name == "control") continue;
      if (bind_matches(binds[b], inherited[i].address)) {
        taken[i] = true;
        plan.app[b] = static_cast<int>(i);
        break;
      }
    }
  }
  for (std::size_t i = 0; i < inherited.size(); ++i) {
    if (!taken[i]) plan.extra_app.push_back(static_cast<int>(i));
  }
  return plan;
}

std::vector<InheritedSocket> inspect_inherited(const ListenEnv& env, std::string* error) {
  std::vector<InheritedSocket> out;
  for (int k = 0; k < env.count; ++k) {
    int fd = env.first_fd + k;
    InheritedSocket s;
    s.fd = fd;
    s.name = k < static_cast<int>(env.names.size()) ? env.names[k] : std::string();
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int type = 0;
    socklen_t tlen = sizeof type;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
        ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM) {
      *error = "inherited fd " + std::to_string(fd) + (s.name.empty() ? "" : " (" + s.name + ")") +
               " is not a stream socket";
      return {};
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (ss.ss_family == AF_UNIX) {
      auto* sun = reinterpret_cast<sockaddr_un*>(&ss);
      s.address.kind = config::Bind::Kind::Unix;
      s.address.path = std::string(sun->sun_path, strnlen(sun->sun_path, sizeof sun->sun_path));
      s.address.text = "unix:" + s.address.path;
    } else if (ss.ss_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      boost::asio::ip::address_v4 a(ntohl(sin->sin_addr.s_addr));
      s.address.host = a.to_string();
      s.address.port = ntohs(sin->sin_port);
      s.address.text = config::to_string(s.address);
    } else if (ss.ss_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      boost::asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), sin6->sin6_addr.s6_addr, 16);
      s.address.host = boost::asio::ip::address_v6(bytes).to_string();
      s.address.port = ntohs(sin6->sin6_port);
      s.address.text = config::to_string(s.address);
    } else {
      *error = "inherited fd " + std::to_string(fd) + " has an unsupported address family";
      return {};
    }
    out.push_back(std::move(s));
  }
  return out;
}

void unset_listen_env() {
  for (const char* k : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "HEARTH_UPGRADE_FROM", "HEARTH_UPGRADE_FD"})
    ::unsetenv(k);
}

}  // namespace hearth::app

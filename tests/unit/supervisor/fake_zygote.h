#pragma once
// Test doubles for the supervisor without Python: a Spawner whose "zygote"
// is a child of ours that only waits for signals (the test keeps the control
// socket's far end and speaks the protocol on it), a frame reader for that
// socket, and a pausing child to stand in for a worker process.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/protocol.h"
#include "supervisor/spawner.h"

namespace hearth::testing {

using supervisor::FrameHeader;
using supervisor::SpawnResult;
using supervisor::SpawnSpec;

// A child that waits for signals; `ignore` lists signals it ignores. Returns
// once the child has set its dispositions, so no signal can beat them.
inline pid_t pausing_child(std::vector<int> ignore = {}) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    for (int s : ignore) ::signal(s, SIG_IGN);
    (void)!::write(ready[1], "r", 1);
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    while (true) ::pause();
  }
  ::close(ready[1]);
  char c;
  while (::read(ready[0], &c, 1) < 0 && errno == EINTR) {
  }
  ::close(ready[0]);
  return pid;
}

class FakeSpawner final : public supervisor::Spawner {
 public:
  SpawnResult spawn(const SpawnSpec& spec) override {
    specs.push_back(spec);
    if (fail) return SpawnResult{-1, std::error_code(ENOENT, std::system_category()), "exec"};
    for (auto& [src, dst] : spec.fd_map)
      if (dst == 3) control = ::fcntl(src, F_DUPFD_CLOEXEC, 10);
    controls.push_back(control);
    pid_t pid = pausing_child();
    return SpawnResult{pid, {}, ""};
  }
  ~FakeSpawner() override {
    for (int fd : controls)
      if (fd >= 0) ::close(fd);
  }

  std::vector<SpawnSpec> specs;
  bool fail = false;
  int control = -1;           // the last zygote's end of its control socket
  std::vector<int> controls;  // every zygote's, in spawn order
};

struct Frame {
  FrameHeader header;
  std::string payload;
  std::vector<int> fds;
};

// Reads one frame (with any SCM_RIGHTS fds) from `fd` if one is there.
inline std::optional<Frame> recv_frame(int fd) {
  char hdr[supervisor::kHeaderSize];
  iovec iov{hdr, sizeof hdr};
  char cbuf[CMSG_SPACE(sizeof(int) * 8)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_WAITALL);
  if (n < static_cast<ssize_t>(sizeof hdr)) return std::nullopt;
  auto h = supervisor::decode_header(hdr);
  if (!h) return std::nullopt;
  Frame f;
  f.header = *h;
  f.payload.resize(h->length);
  std::size_t have = 0;
  while (have < f.payload.size()) {
    ssize_t r = ::recv(fd, f.payload.data() + have, f.payload.size() - have, 0);
    if (r <= 0) return std::nullopt;
    have += static_cast<std::size_t>(r);
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int got;
        std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
        f.fds.push_back(got);
      }
    }
  }
  return f;
}

// Writes one frame to `fd` (small frames fit the socket buffer).
inline bool send_frame(int fd, supervisor::FrameType t, std::string_view payload) {
  std::string f = supervisor::encode_frame(t, payload);
  return ::send(fd, f.data(), f.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(f.size());
}

}  // namespace hearth::testing

#pragma once
// The control protocol (docs/cli.md): one command line in, one JSON object
// out. This file owns the words ("status", "reload", "scale N", "upgrade",
// "stop"), their checks and the shape of every answer; what a command does is
// the daemon's, reached through the Target interface (app/daemon.cc), so the
// protocol is tested with a fake target and no daemon.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace hearth::control {

// Sends the answer (a JSON document); called exactly once per command.
using Reply = std::function<void(std::string json)>;

// What `reload` did: the pool's outcome plus the certificate's.
struct ReloadOutcome {
  bool ok = false;         // the app reload
  uint32_t generation = 0;
  double seconds = 0;
  std::string message;     // one line
  std::string detail;      // the Python traceback when the new code failed
  std::string tls_error;   // "" = the certificate was re-read (or there is no TLS)
};

// What `scale N` did.
struct ScaleOutcome {
  std::string error;               // "" = accepted
  std::optional<uint32_t> capped;  // memory_budget holds fewer than asked: this many
  uint64_t memory_budget = 0;      // bytes, for the message
};

// What `upgrade` did (the new hearthd serves, or why not).
struct UpgradeOutcome {
  bool ok = false;
  pid_t old_pid = 0;
  pid_t new_pid = 0;
  std::string message;
};

class Target {
 public:
  virtual ~Target() = default;
  // False once the daemon is draining or stopping: `reload` is refused.
  virtual bool accepting_reloads() const = 0;
  // `app` names one app of [[apps]] (docs/several-apps.md); "" = every app
  // (the single-app form has one). An unknown name is the target's error.
  // The `status` document (a whole reply: {"ok":false,...} for an unknown app).
  virtual std::string status(std::string_view app) const = 0;
  // Re-reads the certificate, then replaces the workers; `done` once finished.
  virtual void reload(std::string_view app, std::function<void(const ReloadOutcome&)> done) = 0;
  virtual ScaleOutcome scale(std::string_view app, uint32_t workers) = 0;
  // Starts a binary upgrade; replies itself (refusal or upgrade_reply()).
  virtual void upgrade(Reply reply) = 0;
  // Starts a graceful shutdown, after the answer was sent.
  virtual void stop() = 0;
};

// Runs one command line against `target`: "status [APP]", "reload [APP]",
// "scale N" or "scale APP N", "upgrade", "stop" ("scale 4\r" is fine).
void handle_command(std::string_view line, Target& target, Reply reply);

// The answers, as JSON text.
std::string error_reply(std::string_view error);      // {"ok":false,"error":...}
std::string message_reply(std::string_view message);  // {"ok":true,"message":...}
std::string reload_reply(const ReloadOutcome& r);
std::string scale_reply(uint32_t asked, const ScaleOutcome& s);
std::string upgrade_reply(const UpgradeOutcome& u);

}  // namespace hearth::control

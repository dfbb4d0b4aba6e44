#include "control/commands.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>

namespace hearth::control {
namespace {

std::string text(const boost::json::object& o) { return boost::json::serialize(o); }

}  // namespace

std::string error_reply(std::string_view error) {
  return text({{"ok", false}, {"error", error}});
}

std::string message_reply(std::string_view message) {
  return text({{"ok", true}, {"message", message}});
}

std::string reload_reply(const ReloadOutcome& r) {
  const bool ok = r.ok && r.tls_error.empty();
  std::string message = r.message;
  if (!r.tls_error.empty()) {
    message = "TLS certificate reload failed, still serving the previous certificate: " + r.tls_error +
              "; app reload: " + r.message;
  }
  boost::json::object o{{"ok", ok}, {"generation", r.generation}, {"seconds", r.seconds}};
  o[ok ? "message" : "error"] = message;
  if (!r.tls_error.empty()) o["tls_error"] = r.tls_error;
  if (!r.detail.empty()) o["traceback"] = r.detail;
  return text(o);
}

std::string scale_reply(uint32_t asked, const ScaleOutcome& s) {
  if (!s.error.empty()) return error_reply(s.error);
  if (s.capped) {
    return text({{"ok", true},
                 {"capped", *s.capped},
                 {"message", "asked for " + std::to_string(asked) + " worker(s); capped to " +
                                 std::to_string(*s.capped) + " by memory_budget (" +
                                 std::to_string(s.memory_budget >> 20) + " MiB)"}});
  }
  return message_reply("scaling to " + std::to_string(asked) + " worker(s)");
}

std::string upgrade_reply(const UpgradeOutcome& u) {
  boost::json::object o{{"ok", u.ok}, {"old_pid", u.old_pid}, {"new_pid", u.new_pid}};
  o[u.ok ? "message" : "error"] = u.message;
  return text(o);
}

void handle_command(std::string_view line, Target& target, Reply reply) {
  std::string cmd(line);
  while (!cmd.empty() && (cmd.back() == '\r' || cmd.back() == ' ')) cmd.pop_back();
  // "status blog": the word, then the optional app name.
  std::string app;
  if (auto sp = cmd.find(' '); sp != std::string::npos && (cmd.rfind("status ", 0) == 0 || cmd.rfind("reload ", 0) == 0)) {
    app = cmd.substr(sp + 1);
    cmd.resize(sp);
    if (app.empty() || app.find(' ') != std::string::npos) return reply(error_reply("usage: " + cmd + " [APP]"));
  }
  if (cmd == "status") {
    reply(target.status(app));
  } else if (cmd == "reload") {
    if (!target.accepting_reloads()) return reply(error_reply("the daemon is shutting down"));
    target.reload(app, [reply](const ReloadOutcome& r) { reply(reload_reply(r)); });
  } else if (cmd.rfind("scale ", 0) == 0) {
    std::string args = cmd.substr(6);
    if (auto sp = args.find(' '); sp != std::string::npos) {
      app = args.substr(0, sp);
      args = args.substr(sp + 1);
    }
    char* end = nullptr;
    long n = std::strtol(args.c_str(), &end, 10);
    if (args.empty() || !end || *end != '\0' || n < 1 || n > 10000)
      return reply(error_reply("scale needs a worker count from 1 to 10000"));
    reply(scale_reply(static_cast<uint32_t>(n), target.scale(app, static_cast<uint32_t>(n))));
  } else if (cmd == "upgrade") {
    target.upgrade(reply);
  } else if (cmd == "stop") {
    reply(message_reply("graceful shutdown started"));
    target.stop();
  } else {
    reply(error_reply("unknown command: " + cmd));
  }
}

}  // namespace hearth::control

#pragma once
// Levelled logging to stderr (or a file), cheap when a level is off.
// Each line: "2026-11-22T10:00:00.123Z level [context] message".
// Single-threaded daemon: no locking; never call from a signal handler.
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>

namespace hearth::log {

// Ordered by verbosity; a message is written when its level <= the threshold.
enum class Level {
  Error = 0,  // something failed and a request or a process was affected
  Warn = 1,   // unexpected but handled
  Info = 2,   // lifecycle: listening, worker started/stopped, reload
  Debug = 3,  // per-request detail
};

Level threshold();
void set_threshold(Level level);
// Parses "error|warn|warning|info|debug"; false when unknown.
bool parse_level(std::string_view text, Level* out);
std::string_view level_name(Level level);

// Writes one formatted line; `context` may be empty.
void write(Level level, std::string_view context, std::string_view message);

inline bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(threshold()); }

}  // namespace hearth::log

// HLOG(Info, "worker " << id) — the stream expression is evaluated only when enabled.
#define HLOG_CTX(level, ctx, expr)                                        \
  do {                                                                    \
    if (::hearth::log::enabled(::hearth::log::Level::level)) {           \
      std::ostringstream hlog_os_;                                        \
      hlog_os_ << expr;                                                   \
      ::hearth::log::write(::hearth::log::Level::level, (ctx), hlog_os_.str()); \
    }                                                                     \
  } while (0)
#define HLOG(level, expr) HLOG_CTX(level, std::string_view{}, expr)

#include "common/log.h"

#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace hearth::log {
namespace {
Level g_threshold = Level::Info;
}

Level threshold() { return g_threshold; }
void set_threshold(Level level) { g_threshold = level; }

bool parse_level(std::string_view text, Level* out) {
  if (text == "error") *out = Level::Error;
  else if (text == "warn" || text == "warning") *out = Level::Warn;
  else if (text == "info") *out = Level::Info;
  else if (text == "debug") *out = Level::Debug;
  else return false;
  return true;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Error: return "error";
    case Level::Warn: return "warn";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
  }
  return "?";
}

void write(Level level, std::string_view context, std::string_view message) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char stamp[40];
  size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(tv.tv_usec / 1000));
  std::string line;
  line.reserve(message.size() + 64);
  line += stamp;
  line += ' ';
  line += level_name(level);
  line += " hearthd";
  if (!context.empty()) {
    line += " [";
    line += context;
    line += ']';
  }
  line += ' ';
  line += message;
  line += '\n';
  // One write(2) per line so lines from the daemon and its children do not interleave.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t w = ::write(STDERR_FILENO, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
}

}  // namespace hearth::log

#pragma once
// `pid_file` / --pid: hearthd's pid in a file for scripts (logrotate's
// postrotate, init scripts); removed when hearthd exits, if it still names us.
#include <string>

namespace hearth::app {

class PidFile {
 public:
  ~PidFile() { remove(); }
  // Writes the pid; "" or what failed.
  [[nodiscard]] std::string write(const std::string& path);
  void remove();

 private:
  std::string path_;
};

}  // namespace hearth::app

#pragma once
// The daemon's own log in a file (`[log] error_log`, --error-logfile): the
// file is put in place of stderr (dup2), so hearthd's lines, and the app's
// stderr inherited by the zygote and its workers, go to it. SIGUSR1 reopens it
// at its path (logrotate); a reopen that fails keeps the old file.
#include <string>

namespace hearth::app {

class ErrorLog {
 public:
  // "-" = stderr stays as it is. Returns "" or what failed.
  [[nodiscard]] std::string open(const std::string& path);
  // Reopens the file at its path; "" or what failed (the old file is kept).
  [[nodiscard]] std::string reopen();
  bool is_file() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;  // "" = stderr
};

}  // namespace hearth::app

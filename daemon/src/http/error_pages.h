#pragma once
// The [[error_page]] bodies: what the daemon's own error answers (a full
// queue's 503, 504 after `timeout`, 502 when a worker died, 413, 429, ...)
// carry instead of their one-line text. Loaded from the files at start and on
// reload, then immutable and shared (std::shared_ptr<const ErrorPages>), so a
// reload never changes a page under a response being written.
//
// ResponseSink::simple() is where they apply: the daemon's answers go through
// it and the app's never do.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace hearth::http {

class ErrorPages {
 public:
  struct Page {
    std::string content_type;  // from the file's extension: "text/html; charset=utf-8"
    std::string body;
  };

  // Reads every entry's file (config::error_page_path). nullopt and `error`
  // ("error_page[1].file: cannot read '/srv/50x.html': No such file or
  // directory") when one cannot be read.
  [[nodiscard]] static std::optional<ErrorPages> load(const config::Config& cfg, std::string* error);

  // The page for a status, or null.
  const Page* find(int status) const {
    if (status < 400 || status > 599) return nullptr;
    return pages_[static_cast<std::size_t>(status - 400)].get();
  }
  std::size_t files() const { return files_; }

  // "text/html; charset=utf-8" for ".html", by extension; text/html when unknown.
  static std::string content_type_for(std::string_view path);

 private:
  std::array<std::shared_ptr<const Page>, 200> pages_{};  // by status - 400
  std::size_t files_ = 0;
};

}  // namespace hearth::http

#include "http/error_pages.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/validate.h"

namespace hearth::http {

std::string ErrorPages::content_type_for(std::string_view path) {
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  std::string ext;
  if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) {
    for (char c : path.substr(dot + 1)) ext.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (ext == "json") return "application/json";
  if (ext == "txt" || ext == "text") return "text/plain; charset=utf-8";
  if (ext == "xml") return "application/xml";
  if (ext == "xhtml") return "application/xhtml+xml";
  return "text/html; charset=utf-8";  // .html, .htm, and anything else
}

std::optional<ErrorPages> ErrorPages::load(const config::Config& cfg, std::string* error) {
  ErrorPages out;
  for (std::size_t i = 0; i < cfg.error_pages.size(); ++i) {
    const auto& e = cfg.error_pages[i];
    std::string path = config::error_page_path(cfg, e);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream body;
    if (in) body << in.rdbuf();
    if (!in || in.bad()) {
      if (error) *error = "error_page[" + std::to_string(i) + "].file: cannot read '" + path + "': " + std::strerror(errno);
      return std::nullopt;
    }
    auto page = std::make_shared<const Page>(Page{content_type_for(path), body.str()});
    for (int s : e.status) {
      if (s >= 400 && s <= 599) out.pages_[static_cast<std::size_t>(s - 400)] = page;
    }
    ++out.files_;
  }
  return out;
}

}  // namespace hearth::http

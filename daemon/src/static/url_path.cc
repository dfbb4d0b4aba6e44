#include "static/url_path.h"

namespace hearth::statics {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view without_trailing_slash(std::string_view p) {
  if (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  // The usual path has no escape and no NUL: checked in one pass, copied at once.
  bool plain = true;
  for (char c : s) plain &= (c != '%') & (c != '\0');
  if (plain) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;  // "%" or "%4" at the end
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string_view target_path(std::string_view target) {
  // Absolute form, as proxy::build_environ reads it: "http://host/p?q" -> "/p".
  if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
    size_t slash = target.find_first_of("/?#", target.find("://") + 3);
    if (slash == std::string_view::npos || target[slash] != '/') return "/";
    target.remove_prefix(slash);
  }
  // A byte loop: find_first_of("?#") calls memchr on the set for every byte.
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '?' || target[i] == '#') return target.substr(0, i);
  }
  return target;
}

RelativePath split_relative(std::string_view rest, bool allow_dotfiles) {
  RelativePath r;
  for (unsigned char c : rest) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      r.verdict = RelativePath::Verdict::Malformed;
      return r;
    }
  }
  r.trailing_slash = !rest.empty() && rest.back() == '/';
  r.path.reserve(rest.size());
  bool dotfile = false;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      r.verdict = RelativePath::Verdict::Traversal;
      r.path.clear();
      return r;
    }
    if (seg.front() == '.' && !allow_dotfiles) dotfile = true;
    if (!r.path.empty()) r.path.push_back('/');
    r.path.append(seg);
  }
  if (dotfile) {
    r.verdict = RelativePath::Verdict::Dotfile;
    r.path.clear();
  }
  return r;
}

int match_mount(std::string_view path, const std::vector<std::string>& prefixes, std::string_view* rest) {
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    std::string_view p = without_trailing_slash(prefixes[i]);
    if (p == "/") {
      // A mount at the root matches everything.
      if (best < 0) {
        best = static_cast<int>(i);
        best_len = 0;
        if (rest) *rest = path.substr(1);
      }
      continue;
    }
    if (path.size() < p.size() || path.compare(0, p.size(), p) != 0) continue;
    if (path.size() > p.size() && path[p.size()] != '/') continue;
    if (best >= 0 && p.size() <= best_len) continue;
    best = static_cast<int>(i);
    best_len = p.size();
    if (rest) *rest = path.size() > p.size() ? path.substr(p.size() + 1) : std::string_view();
  }
  return best;
}

}  // namespace hearth::statics

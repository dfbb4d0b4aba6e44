#pragma once
// Pure functions from a request-target to the file a static mount may serve:
// percent-decoding (once), the checks that keep a path inside its mount, and
// longest-prefix mount matching. No file system access (see file_opener.h).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::statics {

// "%41b" -> "Ab". nullopt for a malformed escape ("%4", "%zz") or a decoded
// NUL. '+' stays '+' (it is not a space in a path).
std::optional<std::string> percent_decode(std::string_view s);

// The path part of a request-target: "/a/b?x=1" -> "/a/b"; absolute form
// "http://host/a?x" -> "/a" ("http://host" -> "/").
std::string_view target_path(std::string_view target);

// A path below a mount, checked segment by segment.
struct RelativePath {
  enum class Verdict {
    Ok,         // segments name something under the root (maybe nothing: the root itself)
    Malformed,  // bad escape, NUL, a control byte, or a backslash
    Traversal,  // a ".." segment (before or after decoding)
    Dotfile,    // a segment starting with '.' and dotfiles are not allowed
  };
  Verdict verdict = Verdict::Ok;
  // The decoded segments joined by '/', without "" and "." segments
  // ("css//./site.css" -> "css/site.css"; "" for the root itself).
  std::string path;
  bool trailing_slash = false;        // the path ends with '/' (a directory was asked for)
};

// `rest` is the decoded part of the path after the mount's prefix.
RelativePath split_relative(std::string_view rest, bool allow_dotfiles);

// The index of the mount whose prefix is the longest one matching `path`
// (decoded), or -1. A prefix "/static/" (or "/static") matches "/static",
// "/static/" and "/static/x", never "/staticx". `rest` receives what follows.
int match_mount(std::string_view path, const std::vector<std::string>& prefixes, std::string_view* rest);

}  // namespace hearth::statics

#include "static/negotiation.h"

#include <cstdlib>

#include "http/request_checks.h"

namespace hearth::statics {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct Type {
  const char* ext;
  const char* type;
};

// Common web types; "; charset=utf-8" is added to the text ones below.
constexpr Type kTypes[] = {
    {"html", "text/html"}, {"htm", "text/html"}, {"css", "text/css"}, {"js", "text/javascript"},
    {"mjs", "text/javascript"}, {"json", "application/json"}, {"map", "application/json"},
    {"webmanifest", "application/manifest+json"}, {"xml", "application/xml"}, {"txt", "text/plain"},
    {"md", "text/markdown"}, {"csv", "text/csv"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
    {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"webp", "image/webp"},
    {"avif", "image/avif"}, {"ico", "image/vnd.microsoft.icon"}, {"bmp", "image/bmp"}, {"woff", "font/woff"},
    {"woff2", "font/woff2"}, {"ttf", "font/ttf"}, {"otf", "font/otf"}, {"eot", "application/vnd.ms-fontobject"},
    {"pdf", "application/pdf"}, {"zip", "application/zip"}, {"gz", "application/gzip"}, {"br", "application/x-brotli"},
    {"tar", "application/x-tar"}, {"wasm", "application/wasm"}, {"mp4", "video/mp4"}, {"webm", "video/webm"},
    {"ogv", "video/ogg"}, {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"}, {"oga", "audio/ogg"}, {"wav", "audio/wav"},
    {"flac", "audio/flac"}, {"m4a", "audio/mp4"}, {"vtt", "text/vtt"}, {"ics", "text/calendar"},
    {"rss", "application/rss+xml"}, {"atom", "application/atom+xml"}, {"yaml", "application/yaml"},
    {"yml", "application/yaml"}, {"apk", "application/vnd.android.package-archive"},
};

bool is_text(std::string_view type) {
  return type.substr(0, 5) == "text/" || type == "application/json" || type == "application/manifest+json" ||
         type == "application/xml" || type == "image/svg+xml" || type == "application/rss+xml" ||
         type == "application/atom+xml" || type == "application/yaml";
}

}  // namespace

std::string mime_type(std::string_view filename) {
  size_t slash = filename.rfind('/');
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string ext = lower(filename.substr(dot + 1));
  for (const auto& t : kTypes) {
    if (ext == t.ext) {
      std::string type = t.type;
      if (is_text(type)) type += "; charset=utf-8";
      return type;
    }
  }
  return "application/octet-stream";
}

double accept_q(std::string_view header, std::string_view coding) {
  double own = -1, star = -1;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = http::trim_ows(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (item.empty()) continue;
    size_t semi = item.find(';');
    std::string name = lower(http::trim_ows(item.substr(0, semi)));
    double q = 1;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      // Only q matters: "q=0.5" (OWS around '=' tolerated).
      while (!params.empty()) {
        size_t next = params.find(';');
        std::string_view p = http::trim_ows(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
        size_t eq = p.find('=');
        if (eq == std::string_view::npos || lower(http::trim_ows(p.substr(0, eq))) != "q") continue;
        std::string v(http::trim_ows(p.substr(eq + 1)));
        char* end = nullptr;
        double parsed = std::strtod(v.c_str(), &end);
        if (v.empty() || end != v.c_str() + v.size() || !(parsed >= 0) || parsed > 1) {
          q = 0;  // a malformed weight: do not count on this coding
        } else {
          q = parsed;
        }
      }
    }
    if (name == "x-gzip") name = "gzip";
    if (name == coding) own = q > own ? q : own;
    else if (name == "*") star = q;
  }
  if (own >= 0) return own;
  if (star >= 0) return star;
  return 0;
}

Encoding choose_encoding(std::string_view header, bool have_br, bool have_gzip) {
  double br = have_br ? accept_q(header, "br") : 0;
  double gz = have_gzip ? accept_q(header, "gzip") : 0;
  if (br <= 0 && gz <= 0) return Encoding::Identity;
  return br >= gz ? Encoding::Brotli : Encoding::Gzip;
}

}  // namespace hearth::statics

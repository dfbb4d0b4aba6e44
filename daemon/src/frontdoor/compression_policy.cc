#include "frontdoor/compression_policy.h"

#include <algorithm>
#include <cctype>

#include "http/request_checks.h"
#include "static/negotiation.h"

namespace hearth::frontdoor {
namespace {

using http::iequals;
constexpr auto trim = http::trim_ows;

// Does a comma-separated header value contain `token` (case-insensitive)?
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (auto eq = item.find('='); eq != std::string_view::npos) item = trim(item.substr(0, eq));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool parse_length(std::string_view v, uint64_t* out) {
  v = trim(v);
  if (v.empty() || v.size() > 19) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = n;
  return true;
}

}  // namespace

std::string_view coding_name(Coding c) {
  switch (c) {
    case Coding::Brotli:
      return "br";
    case Coding::Gzip:
      return "gzip";
    case Coding::Identity:
      break;
  }
  return "identity";
}

Coding negotiate(const config::CompressionConfig& cfg, std::string_view accept_encoding) {
  bool br = std::find(cfg.algorithms.begin(), cfg.algorithms.end(), "br") != cfg.algorithms.end();
  bool gz = std::find(cfg.algorithms.begin(), cfg.algorithms.end(), "gzip") != cfg.algorithms.end();
  switch (statics::choose_encoding(accept_encoding, br, gz)) {
    case statics::Encoding::Brotli:
      return Coding::Brotli;
    case statics::Encoding::Gzip:
      return Coding::Gzip;
    case statics::Encoding::Identity:
      break;
  }
  return Coding::Identity;
}

bool type_matches(std::string_view content_type, const std::vector<std::string>& types) {
  std::string_view t = trim(content_type.substr(0, content_type.find(';')));
  auto slash = t.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  for (const auto& want : types) {
    if (want.size() >= 2 && want.substr(want.size() - 2) == "/*") {
      if (iequals(t.substr(0, slash + 1), std::string_view(want).substr(0, want.size() - 1))) return true;
    } else if (iequals(t, want)) {
      return true;
    }
  }
  return false;
}

CompressPlan plan(const config::CompressionConfig& cfg, Coding coding, int status,
                  const std::vector<http::Header>& headers) {
  CompressPlan p;
  if (status < 200 || status == 204 || status == 206 || status == 304) return p;
  std::string_view content_type;
  bool has_type = false;
  for (const auto& h : headers) {
    if (iequals(h.name, "Content-Encoding") || iequals(h.name, "Content-Range")) return p;
    if (iequals(h.name, "Cache-Control") && has_token(h.value, "no-transform")) return p;
    if (iequals(h.name, "Content-Length")) {
      uint64_t n = 0;
      if (parse_length(h.value, &n) && n < cfg.min_size) return p;
    }
    if (iequals(h.name, "Content-Type")) {
      content_type = h.value;
      has_type = true;
    }
  }
  if (!has_type || !type_matches(content_type, cfg.types)) return p;
  p.kind = coding == Coding::Identity ? CompressPlan::Kind::VaryOnly : CompressPlan::Kind::Compress;
  p.coding = coding;
  return p;
}

void apply(std::vector<http::Header>& headers, Coding coding, bool vary_only) {
  bool vary_done = false;
  for (auto& h : headers) {
    if (!iequals(h.name, "Vary")) continue;
    if (has_token(h.value, "Accept-Encoding") || trim(h.value) == "*") {
      vary_done = true;
    } else if (!vary_done) {
      h.value = std::string(trim(h.value)).empty() ? "Accept-Encoding" : h.value + ", Accept-Encoding";
      vary_done = true;
    }
  }
  if (!vary_done) headers.push_back({"Vary", "Accept-Encoding"});
  if (vary_only) return;
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [](const http::Header& h) { return iequals(h.name, "Content-Length"); }),
                headers.end());
  for (auto& h : headers) {
    if (iequals(h.name, "ETag")) {
      std::string_view v = trim(h.value);
      if (v.size() >= 2 && v.front() == '"') h.value = "W/" + std::string(v);
    }
  }
  headers.push_back({"Content-Encoding", std::string(coding_name(coding))});
}

}  // namespace hearth::frontdoor

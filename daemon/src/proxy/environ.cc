#include "proxy/environ.h"

#include <algorithm>
#include <cctype>

#include "http/request_checks.h"

namespace hearth::proxy {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void put(std::string& out, std::string_view k, std::string_view v) {
  if (!out.empty()) out.push_back('\0');
  out.append(k);
  out.push_back('\0');
  out.append(v);
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string request_id_for(const http::Request& req, std::string_view generated_id) {
  std::string_view id;  // the last one wins, as in build_environ
  for (const auto& h : req.headers) {
    if (iequals(h.name, "X-Request-ID")) id = h.value;
  }
  return sane_request_id(id) ? std::string(id) : std::string(generated_id);
}

bool forwarded_allowed(const std::vector<std::string>& allow, std::string_view peer) {
  for (auto& a : allow) {
    if (a == "*" || a == peer) return true;
  }
  return false;
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int h = hexval(in[i + 1]);
      int l = hexval(in[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      char d = static_cast<char>(h * 16 + l);
      if (d == '\0') return std::nullopt;
      out.push_back(d);
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == ':';
  });
}

EnvironResult build_environ(const http::Request& req, const EnvironOptions& opt, std::string_view generated_id) {
  EnvironResult r;
  std::string& b = r.block;
  b.reserve(512 + req.headers.size() * 48);

  // Split the target: absolute-form "http://host/path?q" keeps only path and query.
  std::string_view target = req.target;
  std::string_view authority = http::absolute_form_authority(target);
  if (!authority.empty()) {
    std::size_t slash = target.find_first_of("/?", static_cast<std::size_t>(authority.data() - target.data()));
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  std::string_view path = target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  std::string path_info;
  if (path == "*") {
    path_info = "*";
  } else {
    auto decoded = percent_decode(path);
    if (!decoded) {
      r.error = "bad percent-encoding in the request path";
      r.request_id = request_id_for(req, generated_id);  // the 400 carries an id too
      return r;
    }
    path_info = std::move(*decoded);
    // Absolute form with an empty path ("http://h?q") means "/", as "http://h" does.
    if (path_info.empty() && !authority.empty()) path_info = "/";
  }

  bool trusted = !req.peer_addr.empty() ? forwarded_allowed(opt.forwarded_allow_ips, req.peer_addr)
                                        : forwarded_allowed(opt.forwarded_allow_ips, "unix");
  // Unix-socket peers are local: trust them only when "*" or "unix" is allowed.

  std::string_view host_header, content_type, content_length_hdr, xff, xfp, xrid;
  std::string scheme = req.tls ? "https" : "http";

  put(b, "REQUEST_METHOD", req.method);
  put(b, "SCRIPT_NAME", "");
  put(b, "PATH_INFO", path_info);
  put(b, "QUERY_STRING", query);
  put(b, "RAW_URI", req.target);
  put(b, "REQUEST_URI", req.target);
  put(b, "SERVER_PROTOCOL", req.version == 10 ? "HTTP/1.0" : (req.version == 20 ? "HTTP/2" : "HTTP/1.1"));
  put(b, "SERVER_SOFTWARE", opt.server_software);

  // HTTP_* variables; repeated headers joined (", ", or "; " for Cookie).
  // Small header counts: a linear scan for duplicates beats a map.
  std::vector<std::pair<std::string, std::string>> vars;
  vars.reserve(req.headers.size());
  for (const auto& h : req.headers) {
    const std::string& name = h.name;
    if (iequals(name, "Content-Type")) { content_type = h.value; continue; }
    if (iequals(name, "Content-Length")) { content_length_hdr = h.value; continue; }
    if (iequals(name, "Host")) {
      host_header = h.value;
      // RFC 9112 3.2.2: with an absolute-form target the server ignores Host
      // and uses the target's authority (added below).
      if (!authority.empty()) continue;
    }
    if (iequals(name, "X-Forwarded-For")) { xff = h.value; if (!trusted) continue; }
    if (iequals(name, "X-Forwarded-Proto")) { xfp = h.value; if (!trusted) continue; }
    if (iequals(name, "X-Request-ID")) { xrid = h.value; continue; }
    // Headers an app may build absolute URLs or client addresses from
    // (password-reset links, allow-lists): from an untrusted peer they are
    // whatever the client claims, so the app never sees them.
    if (!trusted && (iequals(name, "X-Forwarded-Host") || iequals(name, "Forwarded") ||
                     iequals(name, "X-Real-IP") || iequals(name, "X-Forwarded-Port") ||
                     iequals(name, "X-Forwarded-Prefix")))
      continue;
    if (iequals(name, "Proxy")) continue;  // httpoxy: never let a client set HTTP_PROXY
    if (iequals(name, "Transfer-Encoding") || iequals(name, "Connection") || iequals(name, "Keep-Alive") ||
        iequals(name, "Expect"))
      continue;  // hop-by-hop: the daemon already handled framing
    if (name.find('_') != std::string::npos) continue;  // no X-Forwarded_For spoofing
    std::string key = "HTTP_";
    key.reserve(5 + name.size());
    for (char c : name) key.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    bool merged = false;
    for (auto& [k, v] : vars) {
      if (k == key) {
        v += (key == "HTTP_COOKIE") ? "; " : ", ";
        v += h.value;
        merged = true;
        break;
      }
    }
    if (!merged) vars.emplace_back(std::move(key), h.value);
  }

  // Forwarded headers: believed only from allowed peers.
  std::string remote_addr = req.peer_addr;
  if (trusted) {
    if (!xff.empty()) {
      std::string_view last = xff;
      if (auto c = last.rfind(','); c != std::string_view::npos) last = last.substr(c + 1);
      std::string ip = trim(last);
      if (!ip.empty()) remote_addr = ip;
    }
    std::string proto = trim(xfp);
    std::transform(proto.begin(), proto.end(), proto.begin(), [](unsigned char c) { return std::tolower(c); });
    if (proto == "http" || proto == "https") scheme = proto;
  } else {
    // Replace whatever the client claimed with the truth.
    if (!req.peer_addr.empty()) vars.emplace_back("HTTP_X_FORWARDED_FOR", req.peer_addr);
    vars.emplace_back("HTTP_X_FORWARDED_PROTO", scheme);
  }

  if (!authority.empty()) vars.emplace_back("HTTP_HOST", std::string(authority));
  for (auto& [k, v] : vars) put(b, k, v);

  // SERVER_NAME / SERVER_PORT from Host (or the absolute-form authority), else the socket.
  std::string_view host = !authority.empty() ? authority : host_header;
  std::string server_name = req.local_addr.empty() ? "localhost" : req.local_addr;
  std::string server_port = std::to_string(req.local_port);
  if (!host.empty()) {
    std::string_view h = host;
    std::string_view port;
    if (h.front() == '[') {
      auto close = h.find(']');
      if (close != std::string_view::npos) {
        if (close + 1 < h.size() && h[close + 1] == ':') port = h.substr(close + 2);
        h = h.substr(0, close + 1);
      }
    } else if (auto c = h.rfind(':'); c != std::string_view::npos) {
      port = h.substr(c + 1);
      h = h.substr(0, c);
    }
    server_name = std::string(h);
    if (!port.empty()) server_port = std::string(port);
    else server_port = scheme == "https" ? "443" : "80";
  }
  put(b, "SERVER_NAME", server_name);
  put(b, "SERVER_PORT", server_port);
  put(b, "REMOTE_ADDR", remote_addr);
  put(b, "REMOTE_PORT", std::to_string(req.peer_port));
  if (!content_type.empty()) put(b, "CONTENT_TYPE", content_type);
  if (req.body.size() > 0 || !content_length_hdr.empty() || req.body_was_chunked)
    put(b, "CONTENT_LENGTH", std::to_string(req.body.size()));
  put(b, "wsgi.url_scheme", scheme);

  r.request_id = sane_request_id(xrid) ? std::string(xrid) : std::string(generated_id);
  put(b, "HTTP_X_REQUEST_ID", r.request_id);
  put(b, "hearth.request_id", r.request_id);
  return r;
}

}  // namespace hearth::proxy

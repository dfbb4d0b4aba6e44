#include "proxy/environ.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "http/request_checks.h"
#include "common/ascii.h"

namespace hearth::proxy {
namespace {

// Compiled into build_environ's header loop: a call per comparison there costs
// more than the comparison (common/ascii.h).
using ascii::iequals_inline;

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Copies n bytes between non-overlapping buffers. Environ values are mostly a
// few bytes to a few dozen: those are copied inline with (overlapping) word
// loads instead of a call into memcpy per value.
[[gnu::always_inline]] inline void copy_bytes(char* d, const char* s, std::size_t n) {
  if (n > 16) {
    std::memcpy(d, s, n);
  } else if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else if (n > 0) {
    const char a = s[0], b = s[n / 2], c = s[n - 1];
    d[0] = a;
    d[n / 2] = b;
    d[n - 1] = c;
  }
}

// Appends `key\0value` pairs (NUL-separated, none at the end) to one buffer
// that grows rarely: one reserve up front, a bounds check per call.
class BlockWriter {
 public:
  BlockWriter(std::string& out, std::size_t reserve) : out_(out) { out_.resize(reserve); }
  // Trims the buffer to what was written; call before the string is used.
  void finish() { out_.resize(len_); }
  [[gnu::always_inline]] void put(std::string_view k, std::string_view v) {
    room(k.size() + v.size() + 2);
    char* p = out_.data() + len_;
    if (len_ != 0) *p++ = '\0';
    std::memcpy(p, k.data(), k.size());
    p += k.size();
    *p++ = '\0';
    copy_bytes(p, v.data(), v.size());
    len_ = static_cast<std::size_t>(p + v.size() - out_.data());
  }
  // HTTP_<NAME> for a header name: upper case, '-' -> '_'.
  [[gnu::always_inline]] void put_header_key(std::string_view name) {
    room(name.size() + 7);
    char* p = out_.data() + len_;
    if (len_ != 0) *p++ = '\0';
    std::memcpy(p, "HTTP_", 5);
    p += 5;
    for (char c : name) *p++ = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    *p++ = '\0';
    len_ = static_cast<std::size_t>(p - out_.data());
  }
  [[gnu::always_inline]] void append(std::string_view v) {
    room(v.size());
    copy_bytes(out_.data() + len_, v.data(), v.size());
    len_ += v.size();
  }

 private:
  [[gnu::always_inline]] void room(std::size_t n) {
    if (out_.size() - len_ < n) out_.resize(std::max(out_.size() * 2, len_ + n));
  }
  std::string& out_;
  std::size_t len_ = 0;
};

std::string_view number(char (&buf)[24], uint64_t v) {
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
}

// A port in decimal, as number() writes it (environ_test checks the text for
// ports across the range) without the general 64-bit conversion.
[[gnu::always_inline]] inline std::string_view port_number(char (&buf)[24], uint16_t v) {
  char* const end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v = static_cast<uint16_t>(v / 10);
  } while (v != 0);
  return std::string_view(p, static_cast<std::size_t>(end - p));
}

}  // namespace

std::string request_id_for(const http::Request& req, std::string_view generated_id) {
  std::string_view id;  // the last one wins, as in build_environ
  for (const auto& h : req.headers) {
    if (iequals_inline(h.name, "X-Request-ID")) id = h.value;
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

std::string_view mounted_path_info(std::string_view path, std::string_view script_name) {
  if (path.size() >= script_name.size() && path.substr(0, script_name.size()) == script_name &&
      (path.size() == script_name.size() || path[script_name.size()] == '/')) {
    return path.substr(script_name.size());
  }
  return path;
}

EnvironResult build_environ(const http::Request& req, const EnvironOptions& opt, std::string_view generated_id) {
  EnvironResult r;
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
  std::string decoded_path;  // only when the path has escapes
  std::string_view path_info = path;
  if (path == "*") {
    path_info = "*";
  } else {
    if (path.find('%') != std::string_view::npos) {
      auto decoded = percent_decode(path);
      if (!decoded) {
        r.error = "bad percent-encoding in the request path";
        r.request_id = request_id_for(req, generated_id);  // the 400 carries an id too
        return r;
      }
      decoded_path = std::move(*decoded);
      path_info = decoded_path;
    }
    // Absolute form with an empty path ("http://h?q") means "/", as "http://h" does.
    if (path_info.empty() && !authority.empty()) path_info = "/";
  }

  bool trusted = !req.peer_addr.empty() ? forwarded_allowed(opt.forwarded_allow_ips, req.peer_addr)
                                        : forwarded_allowed(opt.forwarded_allow_ips, "unix");
  // Unix-socket peers are local: trust them only when "*" or "unix" is allowed.

  std::string_view host_header, content_type, content_length_hdr, xff, xfp, xrid;
  std::string_view scheme = req.tls ? "https" : "http";

  std::size_t size = 400 + 2 * req.target.size() + path_info.size() + opt.server_software.size() +
                     req.local_addr.size() + 2 * req.peer_addr.size() + 2 * generated_id.size() + 300;
  for (const auto& h : req.headers) size += h.name.size() + h.value.size() + 10;
  BlockWriter b(r.block, size);

  b.put("REQUEST_METHOD", req.method);
  b.put("SCRIPT_NAME", opt.script_name);
  b.put("PATH_INFO", opt.script_name.empty() ? path_info : mounted_path_info(path_info, opt.script_name));
  b.put("QUERY_STRING", query);
  b.put("RAW_URI", req.target);
  b.put("REQUEST_URI", req.target);
  b.put("SERVER_PROTOCOL", req.version == 10 ? "HTTP/1.0" : (req.version == 20 ? "HTTP/2" : "HTTP/1.1"));
  b.put("SERVER_SOFTWARE", opt.server_software);

  // HTTP_* variables, written as they come; repeated headers are joined (", ",
  // or "; " for Cookie) at their first occurrence. Small header counts: a
  // scan of the neighbours (names compared by length first) beats a map.
  const std::size_t nh = req.headers.size();
  for (std::size_t i = 0; i < nh; ++i) {
    const auto& h = req.headers[i];
    const std::string& name = h.name;
    // The filters, by the name's length first (each name matches one at most).
    switch (name.size()) {
      case 4:
        if (iequals_inline(name, "Host")) {
          host_header = h.value;
          // RFC 9112 3.2.2: with an absolute-form target the server ignores Host
          // and uses the target's authority (added below).
          if (!authority.empty()) continue;
        }
        break;
      case 5:
        if (iequals_inline(name, "Proxy")) continue;  // httpoxy: never let a client set HTTP_PROXY
        break;
      case 6:
        if (iequals_inline(name, "Expect")) continue;  // hop-by-hop: the daemon already handled it
        break;
      case 9:
        // Headers an app may build absolute URLs or client addresses from
        // (password-reset links, allow-lists): from an untrusted peer they are
        // whatever the client claims, so the app never sees them (also 16, 18).
        if (!trusted && (iequals_inline(name, "Forwarded") || iequals_inline(name, "X-Real-IP"))) continue;
        break;
      case 10:
        if (iequals_inline(name, "Connection") || iequals_inline(name, "Keep-Alive")) continue;  // hop-by-hop
        break;
      case 12:
        if (iequals_inline(name, "Content-Type")) { content_type = h.value; continue; }
        if (iequals_inline(name, "X-Request-ID")) { xrid = h.value; continue; }
        break;
      case 14:
        if (iequals_inline(name, "Content-Length")) { content_length_hdr = h.value; continue; }
        break;
      case 15:
        if (iequals_inline(name, "X-Forwarded-For")) { xff = h.value; if (!trusted) continue; }
        break;
      case 16:
        if (!trusted && (iequals_inline(name, "X-Forwarded-Host") || iequals_inline(name, "X-Forwarded-Port"))) continue;
        break;
      case 17:
        if (iequals_inline(name, "X-Forwarded-Proto")) { xfp = h.value; if (!trusted) continue; }
        else if (iequals_inline(name, "Transfer-Encoding")) continue;  // hop-by-hop: framing is the daemon's
        break;
      case 18:
        if (!trusted && iequals_inline(name, "X-Forwarded-Prefix")) continue;
        break;
      default:
        break;
    }
    if (name.find('_') != std::string::npos) continue;  // no X-Forwarded_For spoofing
    // A repeat of an earlier header was joined into that one (the filters
    // above depend on the name only, so the earlier one was written).
    bool repeat = false;
    for (std::size_t j = 0; j < i && !repeat; ++j) repeat = iequals_inline(req.headers[j].name, name);
    if (repeat) continue;
    b.put_header_key(name);
    b.append(h.value);
    const std::string_view sep = iequals_inline(name, "Cookie") ? "; " : ", ";
    for (std::size_t k = i + 1; k < nh; ++k) {
      if (!iequals_inline(req.headers[k].name, name)) continue;
      b.append(sep);
      b.append(req.headers[k].value);
    }
  }

  // Forwarded headers: believed only from allowed peers.
  std::string_view remote_addr = req.peer_addr;
  if (trusted) {
    if (!xff.empty()) {
      std::string_view last = xff;
      if (auto c = last.rfind(','); c != std::string_view::npos) last = last.substr(c + 1);
      std::string_view ip = ascii::trim_ows(last);
      if (!ip.empty()) remote_addr = ip;
    }
    std::string_view proto = ascii::trim_ows(xfp);
    if (iequals_inline(proto, "http")) scheme = "http";
    else if (iequals_inline(proto, "https")) scheme = "https";
  } else {
    // Replace whatever the client claimed with the truth.
    if (!req.peer_addr.empty()) b.put("HTTP_X_FORWARDED_FOR", req.peer_addr);
    b.put("HTTP_X_FORWARDED_PROTO", scheme);
  }

  if (!authority.empty()) b.put("HTTP_HOST", authority);

  // SERVER_NAME / SERVER_PORT from Host (or the absolute-form authority), else the socket.
  std::string_view host = !authority.empty() ? authority : host_header;
  char port_buf[24];
  std::string_view server_name = req.local_addr.empty() ? std::string_view("localhost") : req.local_addr;
  std::string_view server_port;  // the socket's, unless Host says otherwise (below)
  if (host.empty()) {
    server_port = port_number(port_buf, req.local_port);
  } else {
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
    server_name = h;
    if (!port.empty()) server_port = port;
    else server_port = scheme == "https" ? "443" : "80";
  }
  b.put("SERVER_NAME", server_name);
  b.put("SERVER_PORT", server_port);
  b.put("REMOTE_ADDR", remote_addr);
  char num[24];
  b.put("REMOTE_PORT", port_number(num, req.peer_port));
  if (!content_type.empty()) b.put("CONTENT_TYPE", content_type);
  if (req.body.size() > 0 || !content_length_hdr.empty() || req.body_was_chunked)
    b.put("CONTENT_LENGTH", number(num, req.body.size()));
  b.put("wsgi.url_scheme", scheme);

  r.request_id = sane_request_id(xrid) ? std::string(xrid) : std::string(generated_id);
  b.put("HTTP_X_REQUEST_ID", r.request_id);
  b.put("hearth.request_id", r.request_id);
  if (req.websocket) b.put("hearth.websocket", "1");  // a valid RFC 6455 handshake: the app gets a websocket scope
  b.finish();
  return r;
}

}  // namespace hearth::proxy

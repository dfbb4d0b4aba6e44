#include "tls/redirect_handler.h"

#include <strings.h>

#include <cctype>

namespace hearth::tls {

namespace {

bool valid_reg_name(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~')) return false;
  }
  return true;
}

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> https_location(std::string_view host, std::string_view target, uint16_t https_port) {
  std::string_view name;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos || close < 3) return std::nullopt;
    std::string_view inside = host.substr(1, close - 1);
    for (char c : inside) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return std::nullopt;
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !all_digits(rest.substr(1)))) return std::nullopt;
    name = host.substr(0, close + 1);
  } else {
    name = host;
    auto colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      if (!all_digits(host.substr(colon + 1))) return std::nullopt;
      name = host.substr(0, colon);
    }
    if (!valid_reg_name(name)) return std::nullopt;
  }
  std::string_view path = "/";
  if (!target.empty() && target.front() == '/') {
    path = target;
  } else if (auto scheme = target.find("://"); scheme != std::string_view::npos) {
    auto slash = target.find('/', scheme + 3);
    if (slash != std::string_view::npos) path = target.substr(slash);
  }
  std::string out = "https://";
  out.append(name);
  if (https_port != 443) out += ":" + std::to_string(https_port);
  out.append(path);
  return out;
}

void RedirectHandler::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  std::string_view host;
  for (const auto& h : request->headers) {
    if (h.name.size() == 4 && strncasecmp(h.name.data(), "host", 4) == 0) {
      host = h.value;
      break;
    }
  }
  std::string fallback;
  if (host.empty() && !request->local_addr.empty()) {
    // HTTP/1.0 without Host: the address the request arrived on.
    fallback = request->local_addr.find(':') != std::string::npos ? "[" + request->local_addr + "]"
                                                                   : request->local_addr;
    host = fallback;
  }
  auto location = https_location(host, request->target, https_port_);
  if (!location) {
    sink->simple(400, "text/plain", "400 Bad Request: no valid Host to redirect to\n");
    return;
  }
  std::string body = "Moved to " + *location + "\n";
  sink->simple(308, "text/plain", body, {http::Header{"Location", *location}});
}

}  // namespace hearth::tls

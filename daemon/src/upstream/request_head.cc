#include "upstream/request_head.h"

#include <vector>

#include "common/ascii.h"
#include "http/hop_by_hop.h"
#include "http/request_checks.h"

namespace hearth::upstream {
namespace {

// The path and query of the target, origin-form.
std::string_view origin_form(std::string_view target) {
  std::string_view authority = http::absolute_form_authority(target);
  if (authority.empty()) return target;
  std::size_t from = static_cast<std::size_t>(authority.data() + authority.size() - target.data());
  std::size_t slash = target.find_first_of("/?", from);
  return slash == std::string_view::npos ? std::string_view() : target.substr(slash);
}

bool named_by_connection(std::string_view name, const std::vector<std::string_view>& listed) {
  for (auto l : listed) {
    if (ascii::iequals(l, name)) return true;
  }
  return false;
}

}  // namespace

std::string upstream_target(std::string_view raw_target, std::string_view script_name, bool strip_prefix) {
  std::string_view t = origin_form(raw_target);
  std::size_t q = t.find('?');
  std::string_view path = t.substr(0, q), query = q == std::string_view::npos ? std::string_view() : t.substr(q);
  if (path.empty()) path = "/";
  while (!script_name.empty() && script_name.back() == '/') script_name.remove_suffix(1);
  if (strip_prefix && !script_name.empty() && path.substr(0, script_name.size()) == script_name &&
      (path.size() == script_name.size() || path[script_name.size()] == '/')) {
    path.remove_prefix(script_name.size());
    if (path.empty()) path = "/";
  }
  // A prefix that matched only once decoded ("/s%6Fcket") is left as sent.
  std::string out(path);
  out += query;
  return out;
}

void visit_forwarded_fields(const http::Request& req, const HeadOptions& o, const FieldVisitor& visit) {
  std::vector<std::string_view> listed;  // fields the Connection header names
  std::string_view host, xff;
  bool has_request_id = false;
  for (const auto& h : req.headers) {
    if (ascii::iequals(h.name, "connection")) {
      std::string_view v = h.value;
      while (!v.empty()) {
        std::size_t c = v.find(',');
        std::string_view item = ascii::trim_ows(v.substr(0, c));
        if (!item.empty()) listed.push_back(item);
        if (c == std::string_view::npos) break;
        v.remove_prefix(c + 1);
      }
    } else if (ascii::iequals(h.name, "host")) {
      if (host.empty()) host = h.value;
    } else if (ascii::iequals(h.name, "x-request-id")) {
      has_request_id = true;
    } else if (ascii::iequals(h.name, "x-forwarded-for")) {
      xff = h.value;  // the last one: a client that sends several is not to be trusted anyway
    }
  }
  visit("Host", host.empty() ? o.default_host : host);
  for (const auto& h : req.headers) {
    std::string_view n = h.name;
    if (http::is_hop_by_hop(n) || ascii::iequals(n, "host") || ascii::iequals(n, "content-length") ||
        ascii::iequals(n, "x-forwarded-for") || ascii::iequals(n, "x-forwarded-proto") ||
        ascii::iequals(n, "x-forwarded-host") || ascii::iequals(n, "expect") || named_by_connection(n, listed))
      continue;
    visit(n, h.value);
  }
  std::string forwarded_for;
  if (!xff.empty()) {
    forwarded_for += xff;
    forwarded_for += ", ";
  }
  forwarded_for += req.peer_addr.empty() ? std::string_view("unix") : std::string_view(req.peer_addr);
  visit("X-Forwarded-For", forwarded_for);
  visit("X-Forwarded-Proto", req.tls ? "https" : "http");
  if (!host.empty()) visit("X-Forwarded-Host", host);
  if (!has_request_id && !o.request_id.empty()) visit("X-Request-ID", o.request_id);
}

std::string build_request_head(const http::Request& req, const HeadOptions& o) {
  std::string out;
  out.reserve(256 + req.target.size());
  out += req.method;
  out += ' ';
  out += o.target;
  out += " HTTP/1.1\r\n";
  visit_forwarded_fields(req, o, [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  });
  bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (o.body_size > 0 || body_method) {
    out += "Content-Length: ";
    out += std::to_string(o.body_size);
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace hearth::upstream

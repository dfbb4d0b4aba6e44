#include "http/request_parser.h"

#include <boost/beast/http/error.hpp>

#include "http/request_checks.h"
#include "http/simple_head.h"

namespace hearth::http {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

RequestParser::RequestParser(const config::HttpLimits& limits, const std::string& temp_dir,
                             std::shared_ptr<Request> recycled, const std::shared_ptr<SpoolFiles>* files)
    : limits_(limits), req_(recycled != nullptr ? std::move(recycled) : std::make_shared<Request>()) {
  if (files != nullptr && *files != nullptr) {
    req_->body.configure(limits.body_buffer_size, *files);
  } else {
    req_->body.configure(limits.body_buffer_size, temp_dir);
  }
  header_limit(static_cast<std::uint32_t>(
      limits.max_header_size > UINT32_MAX ? UINT32_MAX : limits.max_header_size));
  body_limit(limits.max_body_size);
  eager(false);
}

int RequestParser::status_for(const error_code& ec) const {
  if (reject_status_ != 0) return reject_status_;
  if (ec == bhttp::error::header_limit) return 431;
  if (ec == bhttp::error::body_limit) return 413;
  return 400;
}

bool RequestParser::take_simple_head(std::string_view head) {
  SimpleHeadFacts facts;
  if (parse_simple_head(head, limits_, *req_, facts) != SimpleHead::Parsed) return false;
  simple_ = true;
  simple_keep_alive_ = facts.keep_alive;
  expect_continue_ = facts.expect_continue;
  header_done_ = true;
  return true;
}

void RequestParser::reject(int status, error_code& ec) {
  reject_status_ = status;
  ec = bhttp::error::bad_value;
}

void RequestParser::on_request_impl(bhttp::verb, string_view method_str, string_view target,
                                    int version, error_code& ec) {
  if (version != 10 && version != 11) return reject(400, ec);  // incl. "PRI * HTTP/2.0"
  if (!is_token(method_str) || !is_valid_target(method_str, target)) return reject(400, ec);
  // "METHOD SP TARGET SP HTTP/1.1": --limit-request-line / http.max_request_line.
  if (limits_.max_request_line > 0 && method_str.size() + target.size() + 10 > limits_.max_request_line)
    return reject(414, ec);
  req_->method.assign(method_str.data(), method_str.size());
  req_->target.assign(target.data(), target.size());
  req_->version = version;
  req_->is_head = (method_str == "HEAD");
  req_->headers.reserve(16);
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = bhttp::error::bad_method;
}

void RequestParser::on_field_impl(bhttp::field name, string_view name_string, string_view value,
                                  error_code& ec) {
  if (header_done_) {
    // Trailer fields of a chunked body: dropped, but bounded like a head even
    // when the whole section arrives in one read ("name: value" + CRLF each).
    trailer_bytes_ += name_string.size() + value.size() + 4;
    if (trailer_bytes_ > limits_.max_header_size) return reject(400, ec);
    return;
  }
  if (++fields_ > limits_.max_headers) return reject(431, ec);
  // "Name: value": --limit-request-field_size / http.max_header_field_size.
  if (limits_.max_header_field_size > 0 && name_string.size() + 2 + value.size() > limits_.max_header_field_size)
    return reject(431, ec);
  std::string_view v = trim_ows(value);
  if (!is_valid_field_value(v)) return reject(400, ec);
  switch (name) {
    case bhttp::field::transfer_encoding:
      ++te_count_;
      te_chunked_ = is_plain_chunked(v);
      break;
    case bhttp::field::content_length:
      // Beast accepts identical duplicates ("5" twice, "5, 5"); a front door
      // answers 400 to any repeated or list-valued Content-Length instead, so
      // no peer in front of it can read the framing differently.
      if (has_content_length_ || !parse_content_length(v)) return reject(400, ec);
      has_content_length_ = true;
      break;
    case bhttp::field::host:
      // Apps build absolute URLs from it: only a host[:port] gets through.
      if (!is_valid_host(v)) return reject(400, ec);
      ++host_count_;
      break;
    case bhttp::field::expect:
      if (iequals(v, "100-continue")) expect_continue_ = true;
      break;
    default:
      break;
  }
  // Built in place: no temporary Header whose two strings are then moved.
  Header& h = req_->headers.emplace_back();
  h.name.assign(name_string.data(), name_string.size());
  h.value.assign(v.data(), v.size());
}

void RequestParser::on_header_impl(error_code& ec) {
  header_done_ = true;
  // RFC 9112 6.1/6.3: a request with Transfer-Encoding must end in chunked,
  // and Content-Length next to it is a smuggling attempt.
  if (te_count_ > 1) return reject(400, ec);
  if (te_count_ == 1 && (!te_chunked_ || has_content_length_)) return reject(400, ec);
  // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing.
  if (te_count_ > 0 && req_->version < 11) return reject(400, ec);
  // RFC 9112 3.2: an HTTP/1.1 request carries exactly one Host.
  if (host_count_ > 1 || (req_->version >= 11 && host_count_ == 0)) return reject(400, ec);
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  req_->body_was_chunked = chunked();
}

void RequestParser::store(std::string_view data) {
  if (body_failed_) return;
  if (std::error_code e = req_->body.append(data)) {
    body_failed_ = true;
    body_error_ = e;
  }
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  store(body);
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) {
  // A chunk-size line (size, extensions, CRLF) is bounded by max_header_size,
  // as a head is. http_connection.cc caps what stays unparsed; this catches a
  // long line that arrived whole in one read.
  std::size_t digits = 1;
  for (std::uint64_t v = size >> 4; v != 0; v >>= 4) ++digits;
  if (digits + extensions.size() + 2 > limits_.max_header_size) return reject(400, ec);
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  store(body);
  return body.size();
}

void RequestParser::on_finish_impl(error_code&) {}

}  // namespace hearth::http

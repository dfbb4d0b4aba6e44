#pragma once
// Beast's HTTP/1 request parser wired to hearth's Request: fields go straight
// into Request::headers and body bytes into Request::body (a Spool), so no
// intermediate beast::http::fields container is built. One parser per request
// (Beast parsers are not reusable); construction does not allocate.
//
// On top of Beast's own checks it enforces the front door's policy: header
// count, HTTP/1.0 or 1.1 only, request-target form, and unambiguous framing
// (no Content-Length with Transfer-Encoding, Transfer-Encoding only as a
// single "chunked", never in HTTP/1.0; one plain decimal Content-Length), and
// exactly one Host in HTTP/1.1. A rejection leaves reject_status() set (400/431).
//
// A plain body-less head is taken in one pass instead (take_simple_head(),
// http/simple_head.h): Beast then never sees it, and is_done() and
// keep_alive() below answer for it as Beast would have.
#include <boost/beast/http/basic_parser.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "config/config.h"
#include "http/request.h"

namespace hearth::http {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // `limits` is referenced, not copied: it must outlive the parser.
  // `recycled`: an empty Request to build into (RequestPool::take()); null: a new one.
  // `files` (may be null): the reused temp files a body over body_buffer_size goes to
  // (http/spool_files.h); null: a fresh file in temp_dir.
  RequestParser(const config::HttpLimits& limits, const std::string& temp_dir,
                std::shared_ptr<Request> recycled = nullptr, const std::shared_ptr<SpoolFiles>* files = nullptr);

  // The request being built; complete once is_done().
  std::shared_ptr<Request>& request() { return req_; }
  // Non-zero when the head was rejected by policy (400 or 431).
  int reject_status() const { return reject_status_; }
  // The body could not be stored (spill failed); the rest is discarded.
  bool body_failed() const { return body_failed_; }
  const std::error_code& body_error() const { return body_error_; }
  // The client sent "Expect: 100-continue".
  bool expects_continue() const { return expect_continue_; }

  // Builds the request from a whole head (HeadScanner's) in one pass when it is
  // a plain body-less one (parse_simple_head()); true: the request is complete.
  // False: nothing was taken, put() the head as before. Only on a fresh parser.
  [[nodiscard]] bool take_simple_head(std::string_view head);
  // Beast's answers, or take_simple_head()'s when it took the head. These hide
  // basic_parser's non-virtual functions of the same name on purpose: callers
  // hold a RequestParser.
  bool is_done() const { return simple_ || basic_parser::is_done(); }
  bool is_header_done() const { return simple_ || basic_parser::is_header_done(); }
  bool keep_alive() const { return simple_ ? simple_keep_alive_ : basic_parser::keep_alive(); }
  // `Connection: upgrade` with an `Upgrade` field (a simple head never has one).
  bool upgrade() const { return !simple_ && basic_parser::upgrade(); }

  // Maps a parse error to the status to answer with (400, 413 or 431).
  int status_for(const boost::beast::error_code& ec) const;

 private:
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                            boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code& ec) override;

  void reject(int status, boost::beast::error_code& ec);
  void store(std::string_view data);

  const config::HttpLimits& limits_;
  std::shared_ptr<Request> req_;
  uint32_t fields_ = 0;
  uint64_t trailer_bytes_ = 0;  // the trailer section so far (bounded by max_header_size)
  uint32_t te_count_ = 0;
  uint32_t host_count_ = 0;
  bool te_chunked_ = false;
  bool has_content_length_ = false;
  bool header_done_ = false;
  bool expect_continue_ = false;
  bool body_failed_ = false;
  bool simple_ = false;             // take_simple_head() took the head: Beast saw nothing
  bool simple_keep_alive_ = false;  // its keep_alive()
  int reject_status_ = 0;
  std::error_code body_error_;
};

}  // namespace hearth::http

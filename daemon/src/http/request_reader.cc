#include "http/request_reader.h"

#include <algorithm>

#include <boost/beast/http/error.hpp>

namespace hearth::http {

RequestReader::Step RequestReader::step(std::string_view buffered, std::size_t& consumed) {
  std::size_t at = 0;
  for (;;) {
    switch (phase_) {
      case Phase::Idle: {
        while (at < buffered.size() && (buffered[at] == '\r' || buffered[at] == '\n')) ++at;
        if (at == buffered.size()) {
          consumed = at;
          return Step::NeedMore;
        }
        phase_ = Phase::Head;
        if (!parser_) parser_.emplace(limits_, temp_dir_);
        continue;
      }
      case Phase::Head: {
        consumed = at;
        const std::string_view raw = buffered.substr(at);
        if (!h2_checked_) {
          // HTTP/2 with prior knowledge (h2c): the client preface instead of a request line.
          static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
          const std::size_t n = std::min(raw.size(), kPreface.size());
          if (raw.substr(0, n) == kPreface.substr(0, n)) {
            if (n < kPreface.size()) return Step::NeedMore;
            if (limits_.h2_enabled) return Step::H2Preface;
          }
          h2_checked_ = true;
        }
        switch (scanner_.feed(raw)) {
          case HeadScanner::Result::NeedMore:
            return Step::NeedMore;
          case HeadScanner::Result::TooLarge:
            return reject(431);
          case HeadScanner::Result::Malformed:
            return reject(400);
          case HeadScanner::Result::Complete:
            break;
        }
        const std::size_t head = scanner_.head_size();
        boost::beast::error_code ec;
        const std::size_t n = parser_->put(boost::asio::const_buffer(raw.data(), head), ec);
        if (ec) return reject(parser_->status_for(ec));
        if (n != head || !parser_->is_header_done()) return reject(400);
        consumed = at + head;
        if (parser_->is_done()) return Step::Complete;
        phase_ = Phase::Body;
        parser_->eager(true);
        return Step::HeadDone;
      }
      case Phase::Body: {
        consumed = at;
        if (at == buffered.size()) return Step::NeedMore;
        boost::beast::error_code ec;
        const std::size_t n =
            parser_->put(boost::asio::const_buffer(buffered.data() + at, buffered.size() - at), ec);
        at += n;
        consumed = at;
        if (ec == boost::beast::http::error::need_more) {
          // Beast bounds neither a chunk-size line (with its extensions) nor the
          // trailer section: what it keeps unparsed may not outgrow a head.
          if (buffered.size() - at >= limits_.max_header_size) return reject(400);
          return Step::NeedMore;
        }
        if (ec) return reject(parser_->status_for(ec));
        if (parser_->is_done()) return Step::Complete;
        if (n == 0) return Step::NeedMore;
        continue;
      }
    }
  }
}

}  // namespace hearth::http

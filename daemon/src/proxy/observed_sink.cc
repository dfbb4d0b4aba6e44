#include "proxy/observed_sink.h"

#include <strings.h>

namespace hearth::proxy {

ObservedSink::ObservedSink(std::shared_ptr<http::ResponseSink> inner, std::shared_ptr<http::Request> request,
                           std::string request_id, RequestObserver* observer, const ClockSource& clock)
    : ObservedSink(std::move(inner), std::move(request), std::move(request_id), observer, clock, Options{}) {}

ObservedSink::ObservedSink(std::shared_ptr<http::ResponseSink> inner, std::shared_ptr<http::Request> request,
                           std::string request_id, RequestObserver* observer, const ClockSource& clock,
                           Options options)
    : inner_(std::move(inner)),
      request_(std::move(request)),
      observer_(observer),
      clock_(clock),
      options_(std::move(options)) {
  rec_.request_id = std::move(request_id);
  rec_.is_static = options_.is_static;
  rec_.received_at = request_->received_at != TimePoint{} ? request_->received_at : clock_.now();
  if (observer_) observer_->on_request_start();
}

ObservedSink::~ObservedSink() {
  // A handler must finish(); if it never did, still account for the request.
  if (!done_) finish(false);
}

void ObservedSink::start(int status, std::string_view reason, std::vector<http::Header> headers) {
  rec_.status = status;
  bool has_id = !options_.add_request_id;
  bool has_via = options_.via.empty();
  for (auto& h : headers) {
    if (h.name.size() == 12 && strncasecmp(h.name.c_str(), "X-Request-ID", 12) == 0) has_id = true;
    if (!has_via && h.name.size() == 3 && strncasecmp(h.name.c_str(), "Via", 3) == 0) {
      h.value += ", " + options_.via;  // the app's own Via (it proxied too): ours comes last
      has_via = true;
    }
  }
  if (!has_id) {
    http::Header& h = headers.emplace_back();  // built in place: no temporary Header to move and destroy
    h.name.assign("X-Request-ID", 12);
    h.value = rec_.request_id;
  }
  if (!has_via) headers.push_back(http::Header{"Via", options_.via});
  inner_->start(status, reason, std::move(headers));
}

void ObservedSink::body(std::string_view data) {
  rec_.bytes_out += data.size();
  inner_->body(data);
}

bool ObservedSink::body_file(int fd, uint64_t offset, uint64_t length) {
  rec_.bytes_out += length;
  return inner_->body_file(fd, offset, length);
}

void ObservedSink::dispatched() {
  rec_.dispatched = true;
  rec_.dispatched_at = clock_.now();
}

void ObservedSink::finish(bool ok) {
  if (done_) return;
  done_ = true;
  rec_.complete = ok && rec_.status != 0;
  // A 101's connection was handed over to a WebSocket: the inner sink is
  // detached from it, which is not the client leaving.
  rec_.client_gone = inner_->client_gone() && rec_.status != 101;
  rec_.finished_at = clock_.now();
  inner_->finish(ok && rec_.status != 0);
  if (observer_) {
    rec_.request = request_.get();
    observer_->on_request_done(rec_);
    rec_.request = nullptr;
  }
}

}  // namespace hearth::proxy

#include "proxy/observed_sink.h"

#include <strings.h>

namespace hearth::proxy {

ObservedSink::ObservedSink(std::shared_ptr<http::ResponseSink> inner, std::shared_ptr<http::Request> request,
                           std::string request_id, RequestObserver* observer, const ClockSource& clock)
    : inner_(std::move(inner)), request_(std::move(request)), observer_(observer), clock_(clock) {
  rec_.request_id = std::move(request_id);
  rec_.received_at = request_->received_at != TimePoint{} ? request_->received_at : clock_.now();
  if (observer_) observer_->on_request_start();
}

ObservedSink::~ObservedSink() {
  // A handler must finish(); if it never did, still account for the request.
  if (!done_) finish(false);
}

void ObservedSink::start(int status, std::string_view reason, std::vector<http::Header> headers) {
  rec_.status = status;
  bool has_id = false;
  for (auto& h : headers) {
    if (h.name.size() == 12 && strncasecmp(h.name.c_str(), "X-Request-ID", 12) == 0) has_id = true;
  }
  if (!has_id) headers.push_back(http::Header{"X-Request-ID", rec_.request_id});
  inner_->start(status, reason, std::move(headers));
}

void ObservedSink::body(std::string_view data) {
  rec_.bytes_out += data.size();
  inner_->body(data);
}

void ObservedSink::dispatched() {
  rec_.dispatched = true;
  rec_.dispatched_at = clock_.now();
}

void ObservedSink::finish(bool ok) {
  if (done_) return;
  done_ = true;
  rec_.complete = ok && rec_.status != 0;
  rec_.client_gone = inner_->client_gone();
  rec_.finished_at = clock_.now();
  inner_->finish(ok && rec_.status != 0);
  if (observer_) {
    rec_.request = request_.get();
    observer_->on_request_done(rec_);
    rec_.request = nullptr;
  }
}

}  // namespace hearth::proxy

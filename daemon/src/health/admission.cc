#include "health/admission.h"

#include <boost/asio/post.hpp>

#include "common/log.h"
#include "health/internal_request.h"

namespace hearth::health {

Admission::Admission(boost::asio::io_context& io, std::shared_ptr<const config::Config> cfg,
                     proxy::EnvironOptions env)
    : io_(io), cfg_(std::move(cfg)), env_(std::move(env)) {}

void Admission::admit(std::shared_ptr<AdmissionTarget> worker, Done done) {
  step(std::move(worker), 0, std::move(done));
}

void Admission::step(std::shared_ptr<AdmissionTarget> worker, std::size_t index, Done done) {
  const auto& reqs = cfg_->warmup.requests;
  bool health_step = index == reqs.size() && !cfg_->health.path.empty();
  if (index > reqs.size() || (index == reqs.size() && !health_step)) {
    ++ok_;
    done(true, {});
    return;
  }
  supervisor::WorkerSlot* channel = worker->channel();
  if (channel == nullptr || channel->state() != supervisor::WorkerSlot::State::Idle) {
    ++failed_;
    done(false, "the worker's channel is not usable");
    return;
  }
  config::WarmupRequest req;
  std::string kind = "warmup";
  std::chrono::milliseconds timeout = cfg_->timeout;
  if (health_step) {
    req.path = cfg_->health.path;
    kind = "health";
    timeout = cfg_->health.timeout;
  } else {
    req = reqs[index];
  }
  std::string what = req.method + " " + req.path;
  send_internal(io_, *channel, req, env_, kind, timeout,
                [this, w = worker, index, done, what, kind](const InternalResult& r) {
                  if (!w->alive()) return;
                  if (!r.ok) {
                    ++failed_;
                    done(false, kind + " request " + what + ": " + r.error);
                    return;
                  }
                  HLOG_CTX(Debug, "worker " + std::to_string(w->id()),
                           kind << " " << what << " -> " << r.status << " in " << r.elapsed.count() << " ms");
                  // Continue once the slot is idle again (after this call chain).
                  boost::asio::post(io_, [this, w, index, done] { step(w, index + 1, done); });
                });
}

}  // namespace hearth::health

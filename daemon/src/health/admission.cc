#include "health/admission.h"

#include <boost/asio/post.hpp>

#include "common/log.h"
#include "health/internal_request.h"

namespace hearth::health {

Admission::Admission(boost::asio::io_context& io, std::shared_ptr<const config::Config> cfg,
                     proxy::EnvironOptions env)
    : io_(io), cfg_(std::move(cfg)), env_(std::move(env)) {}

void Admission::admit(std::shared_ptr<supervisor::Worker> worker, Done done) {
  step(std::move(worker), 0, std::move(done));
}

void Admission::step(std::shared_ptr<supervisor::Worker> worker, std::size_t index, Done done) {
  const auto& reqs = cfg_->warmup.requests;
  bool health_step = index == reqs.size() && !cfg_->health.path.empty();
  if (index > reqs.size() || (index == reqs.size() && !health_step)) {
    ++ok_;
    done(true, {});
    return;
  }
  if (worker->slots().empty() || worker->slots()[0]->state() != supervisor::WorkerSlot::State::Idle) {
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
  std::weak_ptr<supervisor::Worker> weak = worker;
  send_internal(io_, *worker->slots()[0], req, env_, kind, timeout,
                [this, weak, index, done, what, kind](const InternalResult& r) {
                  auto w = weak.lock();
                  if (!w) return;
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

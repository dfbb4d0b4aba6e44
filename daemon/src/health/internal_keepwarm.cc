#include "health/internal_keepwarm.h"

#include "common/log.h"
#include "health/internal_request.h"

namespace hearth::health {

InternalKeepwarm::InternalKeepwarm(boost::asio::io_context& io, std::chrono::milliseconds interval,
                                   config::WarmupRequest request, proxy::EnvironOptions env,
                                   std::chrono::milliseconds timeout, std::shared_ptr<WorkerList> workers,
                                   std::shared_ptr<SlotLender> slots, std::function<TimePoint()> last_user_request)
    : io_(io), interval_(interval), request_(std::move(request)), env_(std::move(env)), timeout_(timeout),
      workers_(std::move(workers)), slots_(std::move(slots)), last_user_request_(std::move(last_user_request)), timer_(io) {}

void InternalKeepwarm::start() {
  if (interval_.count() <= 0) return;
  last_round_ = Clock::now();
  check();
}

void InternalKeepwarm::stop() {
  stopped_ = true;
  timer_.cancel();
}

void InternalKeepwarm::check() {
  if (stopped_) return;
  TimePoint now = Clock::now();
  TimePoint last_activity = std::max(last_user_request_(), last_round_);
  if (now - last_activity >= interval_) {
    last_round_ = now;
    int sent = 0;
    for (int id : workers_->ready_workers()) {
      auto slot = slots_->borrow_slot(id);
      if (!slot) continue;
      ++sent;
      send_internal(io_, *slot, request_, env_, "keepwarm", timeout_, [this, id](const InternalResult& r) {
        if (r.ok) {
          ++ok_;
          HLOG_CTX(Debug, "keepwarm", "worker " << id << " warm (" << r.status << ", " << r.elapsed.count() << " ms)");
        } else {
          ++failed_;
          HLOG_CTX(Warn, "keepwarm", "keep-warm request through worker " << id << " failed: " << r.error);
        }
      });
    }
    HLOG_CTX(Info, "keepwarm", "idle for " << interval_.count() / 1000 << " s: warmed " << sent << " worker(s) with "
                                           << request_.method << " " << request_.path);
  }
  // Wake at the next moment the idle period could have elapsed.
  auto next = std::max(last_user_request_(), last_round_) + interval_ - now;
  auto wait = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(next), std::chrono::milliseconds(50));
  timer_.expires_after(wait);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) check();
  });
}

}  // namespace hearth::health

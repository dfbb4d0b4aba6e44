#include "proxy/dispatcher.h"

#include <algorithm>

#include "common/log.h"

namespace hearth::proxy {

using supervisor::WorkerSlot;

Dispatcher::Dispatcher(boost::asio::io_context& io, const ClockSource& clock, std::size_t max_queue,
                       std::chrono::milliseconds queue_timeout)
    : io_(io), clock_(clock), queue_(max_queue, queue_timeout), timer_(io) {}

void Dispatcher::reject(PendingRequest& p, const char* why) {
  p.sink->simple(503, "text/plain", std::string("Service Unavailable: ") + why + "\n",
                 {http::Header{"Retry-After", "1"}});
}

std::shared_ptr<WorkerSlot> Dispatcher::take_slot() {
  // One pass: drop the slots that died or were taken, note each live one's worker.
  // (An ASGI worker brings `concurrency` slots, 100 by default: the list is
  // workers x slots long, so everything here stays linear in it; counting each
  // slot's worker over the whole list cost ~0.4 ms per request at 2 x 100.)
  slot_workers_.clear();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < free_.size(); ++i) {
    auto s = free_[i].lock();
    if (!s || s->state() != WorkerSlot::State::Idle) continue;
    slot_workers_.push_back(s->worker_id());
    if (kept != i) free_[kept] = std::move(free_[i]);
    ++kept;
  }
  free_.resize(kept);
  if (free_.empty()) return nullptr;
  // Prefer the worker with the most free slots (threads > 1 or ASGI: spread load
  // across processes, away from one GIL or event loop); ties go to the most
  // recently freed slot (warm caches), which is also the slot taken.
  if (free_.size() == 1) {  // one free slot (the common case under load): nothing to choose
    auto slot = free_.front().lock();
    free_.clear();
    return slot;
  }
  // Free slots per worker: a few workers, so a flat list (no allocation once warm).
  free_per_worker_.clear();
  for (int wid : slot_workers_) {
    auto it = std::find_if(free_per_worker_.begin(), free_per_worker_.end(),
                           [wid](const std::pair<int, std::size_t>& e) { return e.first == wid; });
    if (it == free_per_worker_.end()) free_per_worker_.emplace_back(wid, 1);
    else ++it->second;
  }
  auto free_of = [this](int wid) {
    for (const auto& [id, n] : free_per_worker_) {
      if (id == wid) return n;
    }
    return std::size_t{0};
  };
  std::size_t best = free_.size() - 1;
  std::size_t best_free = 0;
  for (std::size_t i = free_.size(); i-- > 0;) {
    std::size_t n = free_of(slot_workers_[i]);
    if (n > best_free) {
      best_free = n;
      best = i;
    }
  }
  auto slot = free_[best].lock();
  free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
  return slot;
}

std::shared_ptr<WorkerSlot> Dispatcher::borrow_slot(int worker_id) {
  for (std::size_t i = free_.size(); i-- > 0;) {
    auto s = free_[i].lock();
    if (s && s->worker_id() == worker_id && s->state() == WorkerSlot::State::Idle) {
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      return s;
    }
  }
  return nullptr;
}

void Dispatcher::submit(PendingRequest p) {
  if (queue_.empty()) {
    if (auto slot = take_slot()) {
      assign(std::move(slot), std::move(p));
      return;
    }
  }
  TimePoint now = clock_.now();
  // A full queue first drops the requests whose clients already left (an h2
  // rapid-reset flood queues a request per stream and resets it at once):
  // departed clients never take a place a live one is refused for.
  if (queue_.size() >= queue_.capacity()) purge_gone();
  if (!queue_.push(std::move(p), now)) {
    // push() leaves `p` untouched when the queue is full.
    ++stats_.rejected_full;
    HLOG(Debug, "queue full (" << queue_.capacity() << "); answering 503");
    reject(p, "too many requests waiting for a worker");
    return;
  }
  ++stats_.queued;
  arm_timer();
}

bool Dispatcher::retryable(const PendingRequest& p) const {
  if (p.attempts > 1) return false;
  return std::find(retry_methods_.begin(), retry_methods_.end(), p.request->method) != retry_methods_.end();
}

void Dispatcher::assign(std::shared_ptr<WorkerSlot> slot, PendingRequest p) {
  ++stats_.dispatched;
  ++p.attempts;
  p.sink->dispatched();
  // retryable() admits a request's first send only: a request handed back
  // (on_exchange_end) is re-sent as attempt 2 and never handed back again.
  slot->send(std::move(p.request), std::move(p.env_block), std::move(p.sink), false,
             retryable(p) ? supervisor::Retryable::Yes : supervisor::Retryable::No);
}

void Dispatcher::on_exchange_end(std::shared_ptr<WorkerSlot> slot, supervisor::ExchangeEnd&& end) {
  if (end.outcome == supervisor::ExchangeOutcome::Retry) {
    // The slot is Closed (its worker was lost) and has finished with the
    // exchange: re-sending now cannot reach it.
    retry(PendingRequest{std::move(end.request), std::move(end.sink), std::move(end.env_block), 1},
          slot->worker_id());
    return;
  }
  if (end.fate == supervisor::SlotFate::Free) on_slot_free(std::move(slot));
}

void Dispatcher::retry(PendingRequest p, int lost_worker_id) {
  ++stats_.retried;
  if (p.sink->client_gone()) {
    ++stats_.abandoned;
    p.sink->finish(false);
    return;
  }
  // The lost worker's other channels are dead too: never pick them.
  std::erase_if(free_, [lost_worker_id](const std::weak_ptr<WorkerSlot>& w) {
    auto s = w.lock();
    return !s || s->worker_id() == lost_worker_id;
  });
  HLOG(Info, "worker " << lost_worker_id << " died before answering " << p.request->method << " "
                       << p.request->target << "; retrying on another worker");
  submit(std::move(p));
}

void Dispatcher::on_slot_free(std::shared_ptr<WorkerSlot> slot) {
  if (slot->state() != WorkerSlot::State::Idle) return;
  while (!queue_.empty()) {
    auto p = queue_.pop(clock_.now());
    if (p->sink->client_gone()) {
      ++stats_.abandoned;
      p->sink->finish(false);
      continue;
    }
    assign(std::move(slot), std::move(*p));
    return;
  }
  free_.push_back(slot);
}

void Dispatcher::arm_timer() {
  if (timer_armed_) return;
  auto deadline = queue_.next_deadline();
  if (!deadline) return;
  timer_armed_ = true;
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(*deadline - clock_.now()));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    timer_armed_ = false;
    if (ec) return;
    auto expired = queue_.expire(clock_.now());
    for (auto& p : expired) {
      ++stats_.rejected_timeout;
      reject(p, "timed out waiting for a worker");
    }
    purge_gone();
    arm_timer();
  });
}

void Dispatcher::purge_gone() {
  queue_.remove_if([this](PendingRequest& p) {
    if (!p.sink->client_gone()) return false;
    ++stats_.abandoned;
    p.sink->finish(false);
    return true;
  });
}

void Dispatcher::reject_all(const char* why) {
  while (auto p = queue_.pop(clock_.now())) reject(*p, why);
}

}  // namespace hearth::proxy

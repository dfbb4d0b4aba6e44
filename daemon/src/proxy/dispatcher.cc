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

inline bool Dispatcher::abandon_if_gone(PendingRequest& p) {
  if (!p.sink->client_gone()) return false;
  ++stats_.abandoned;
  p.sink->finish(false);
  return true;
}

void Dispatcher::count_free(int worker, bool add) {
  for (auto it = free_per_worker_.begin(); it != free_per_worker_.end(); ++it) {
    if (it->first != worker) continue;
    if (add) {
      ++it->second;
    } else if (--it->second == 0) {
      free_per_worker_.erase(it);
    }
    return;
  }
  if (add) free_per_worker_.emplace_back(worker, 1);
}

std::size_t Dispatcher::free_of(int worker) const {
  for (const auto& [id, n] : free_per_worker_) {
    if (id == worker) return n;
  }
  return 0;
}

void Dispatcher::erase_free(std::size_t i) {
  count_free(free_[i].worker, false);
  free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
}

std::shared_ptr<WorkerSlot> Dispatcher::take_slot() {
  // Prefer the worker with the most free slots (threads > 1 or ASGI: spread load
  // across processes, away from one GIL or event loop); among its slots (and
  // ties between workers) the most recently freed one (warm caches). The
  // per-worker counts are kept as slots come and go, so this costs a few
  // steps even with an ASGI worker's 100 slots (no pass over the whole list).
  // An entry whose slot died or was taken meanwhile is dropped and the choice made again.
  while (!free_.empty()) {
    std::size_t most = 0;
    for (const auto& [id, n] : free_per_worker_) most = std::max(most, n);
    std::size_t pick = free_.size() - 1;
    for (std::size_t i = free_.size(); i-- > 0;) {
      if (free_of(free_[i].worker) == most) {
        pick = i;
        break;
      }
    }
    auto slot = free_[pick].slot.lock();
    erase_free(pick);
    if (slot && slot->state() == WorkerSlot::State::Idle) return slot;
  }
  return nullptr;
}

std::shared_ptr<WorkerSlot> Dispatcher::borrow_slot(int worker_id) {
  for (std::size_t i = free_.size(); i-- > 0;) {
    if (free_[i].worker != worker_id) continue;
    auto s = free_[i].slot.lock();
    if (s && s->state() == WorkerSlot::State::Idle) {
      erase_free(i);
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
  if (queue_length() >= queue_.capacity()) purge_gone();
  if (queue_length() >= queue_.capacity() || !queue_.push(std::move(p), now)) {
    // push() leaves `p` untouched when the queue is full.
    ++stats_.rejected_full;
    HLOG(Debug, "queue full (" << queue_.capacity() << "); answering 503");
    reject(p, "too many requests waiting for a worker");
    return;
  }
  ++stats_.queued;
  arm_timer();
  for (std::size_t i = 0; i < wanting_.size() && !queue_.empty();) {
    auto slot = wanting_[i].lock();
    if (!slot) {
      wanting_.erase(wanting_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;
    if (slot->can_take_ahead()) {
      on_ahead_wanted(*slot);
      break;
    }
  }
}

bool Dispatcher::retryable(const PendingRequest& p) const {
  if (p.attempts > 1) return false;
  return std::find(retry_methods_.begin(), retry_methods_.end(), p.request->method) != retry_methods_.end();
}

void Dispatcher::assign(std::shared_ptr<WorkerSlot> slot, PendingRequest&& p) {
  ++stats_.dispatched;
  ++p.attempts;
  p.sink->dispatched();
  // retryable() admits a request's first send only: a request handed back
  // (on_exchange_end) is re-sent as attempt 2 and never handed back again.
  slot->send(std::move(p.request), std::move(p.env_block), std::move(p.sink), false,
             retryable(p) ? supervisor::Retryable::Yes : supervisor::Retryable::No);
}

void Dispatcher::on_exchange_end(std::shared_ptr<WorkerSlot> slot, supervisor::ExchangeEnd&& end) {
  if (end.ahead_started) --ahead_held_;
  if (end.ahead) [[unlikely]] {
    // Sent ahead, never started: it goes first (it left the queue before the others).
    // Attempts as before its send, so a retryable method keeps its one retry.
    --ahead_held_;
    ++stats_.ahead_returned;
    auto& a = *end.ahead;
    return_unstarted(PendingRequest{std::move(a.request), std::move(a.sink), std::move(a.env_block),
                                    a.retryable == supervisor::Retryable::Yes ? 0 : 1},
                     slot->worker_id());
  }
  if (end.outcome == supervisor::ExchangeOutcome::Retry) {
    // The slot is Closed (its worker was lost) and has finished with the
    // exchange: re-sending now cannot reach it.
    retry(PendingRequest{std::move(end.request), std::move(end.sink), std::move(end.env_block), 1},
          slot->worker_id());
    return;
  }
  if (end.fate == supervisor::SlotFate::Free) on_slot_free(std::move(slot));
}

void Dispatcher::forget_free_of(int worker_id) {
  for (std::size_t i = free_.size(); i-- > 0;) {
    if (free_[i].worker == worker_id || free_[i].slot.expired()) erase_free(i);
  }
}

void Dispatcher::return_unstarted(PendingRequest p, int lost_worker_id) {
  if (abandon_if_gone(p)) return;
  // Its slot's worker is lost, timed out or broken: it is killed, so never pick its other slots.
  forget_free_of(lost_worker_id);
  HLOG(Debug, "worker " << lost_worker_id << " failed before starting " << p.request->method << " "
                        << p.request->target << " (sent ahead); sending it elsewhere");
  resend_first(std::move(p));
}

void Dispatcher::resend_first(PendingRequest&& p) {
  if (queue_.empty()) {
    if (auto slot = take_slot()) return assign(std::move(slot), std::move(p));
  }
  queue_.push_front(std::move(p), clock_.now());
  arm_timer();
}

void Dispatcher::on_ahead_wanted(WorkerSlot& slot) {
  if (!aheads_.empty() && move_stuck_ahead(slot)) [[unlikely]] return;
  if (queue_.empty()) {
    // Remembered for the next request that has to queue (once: the list holds at
    // most every WSGI slot; a gone slot's entry is dropped when met).
    if (!slot.ahead_listed()) {
      slot.set_ahead_listed(true);
      wanting_.push_back(slot.weak_from_this());
    }
    return;
  }
  while (PendingRequest* p = queue_.front()) {
    if (p->sink->client_gone()) {
      auto gone = queue_.pop(clock_.now());
      abandon_if_gone(*gone);
      continue;
    }
    // FIFO: one that cannot go ahead (a body, an unsafe method) waits for a free slot, and so do those behind it.
    if (!WorkerSlot::ahead_eligible(*p->request) || !slot.can_take_ahead()) return;
    const TimePoint now = clock_.now();
    const TimePoint deadline = *queue_.next_deadline();
    go_ahead(slot, std::move(*queue_.pop(now)), now, deadline);
    arm_timer_at(deadline);
    return;
  }
}

void Dispatcher::go_ahead(WorkerSlot& slot, PendingRequest&& p, TimePoint now, TimePoint deadline) {
  ++stats_.dispatched;
  ++stats_.ahead;
  ++ahead_held_;
  ++p.attempts;
  const auto retry = retryable(p) ? supervisor::Retryable::Yes : supervisor::Retryable::No;
  // Its queue time ends when it starts (the slot calls dispatched() then).
  slot.send_ahead(std::move(p.request), std::move(p.env_block), std::move(p.sink), retry);
  // Tracked while it waits there: taken back at its queue deadline, or for a slot that frees up.
  while (!aheads_.empty() && !holder(aheads_.front())) aheads_.pop_front();
  aheads_.push_back(Ahead{slot.weak_from_this(), slot.ahead_seq(), now, deadline});
}

void Dispatcher::on_ahead_blocked(WorkerSlot& slot) {
  auto u = slot.withdraw_ahead();
  if (!u) return;  // cannot now: it stays, as before
  PendingRequest p = withdrawn(std::move(*u));
  if (!abandon_if_gone(p)) resend_first(std::move(p));  // the oldest waiting: first again
}

bool Dispatcher::move_stuck_ahead(WorkerSlot& slot) {
  while (!aheads_.empty() && !holder(aheads_.front())) aheads_.pop_front();
  if (aheads_.empty()) return false;
  const TimePoint now = clock_.now();
  if (now - aheads_.front().sent < kAheadStealAfter) return false;
  auto from = holder(aheads_.front());
  if (from.get() == &slot || !slot.can_take_ahead()) return false;
  auto u = from->withdraw_ahead();
  if (!u) return false;
  const TimePoint deadline = aheads_.front().deadline;
  aheads_.pop_front();
  PendingRequest p = withdrawn(std::move(*u));
  if (abandon_if_gone(p)) return false;
  go_ahead(slot, std::move(p), now, deadline);
  return true;
}

std::shared_ptr<WorkerSlot> Dispatcher::holder(const Ahead& a) {
  auto slot = a.slot.lock();
  if (slot && slot->holds_ahead() && slot->ahead_seq() == a.seq) return slot;
  return nullptr;
}

PendingRequest Dispatcher::withdrawn(supervisor::ExchangeEnd::Unstarted&& u) {
  --ahead_held_;
  ++stats_.ahead_withdrawn;
  // Attempts as before its send, so a retryable method keeps its one retry.
  return PendingRequest{std::move(u.request), std::move(u.sink), std::move(u.env_block),
                        u.retryable == supervisor::Retryable::Yes ? 0 : 1};
}

std::optional<PendingRequest> Dispatcher::steal_ahead(TimePoint now, std::optional<TimePoint>* later) {
  for (std::size_t i = 0; i < aheads_.size();) {
    const Ahead& a = aheads_[i];
    auto slot = holder(a);
    if (!slot) {
      aheads_.erase(aheads_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (now - a.sent < kAheadStealAfter) {
      // Oldest first: the rest are younger still.
      if (!*later || a.sent + kAheadStealAfter < **later) *later = a.sent + kAheadStealAfter;
      return std::nullopt;
    }
    auto u = slot->withdraw_ahead();
    if (!u) {  // being written, or the socket is full: look again shortly
      if (!*later || now + kAheadStealAfter < **later) *later = now + kAheadStealAfter;
      ++i;
      continue;
    }
    aheads_.erase(aheads_.begin() + static_cast<std::ptrdiff_t>(i));
    PendingRequest p = withdrawn(std::move(*u));
    if (abandon_if_gone(p)) continue;
    HLOG(Debug, "worker " << slot->worker_id() << " still busy after " << kAheadStealAfter.count() << " ms; "
                          << p.request->method << " " << p.request->target
                          << " (queued ahead there) goes to a free slot");
    return p;
  }
  return std::nullopt;
}

std::optional<TimePoint> Dispatcher::sweep_ahead(TimePoint now) {
  std::optional<TimePoint> next;
  // Past its queue deadline: 503, as in the queue (the worker skips it: CLIENT_GONE).
  for (std::size_t i = 0; i < aheads_.size();) {
    const Ahead& a = aheads_[i];
    auto slot = holder(a);
    if (!slot) {
      aheads_.erase(aheads_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (a.deadline > now) {
      if (!next || a.deadline < *next) next = a.deadline;
      ++i;
      continue;
    }
    auto u = slot->withdraw_ahead();
    if (!u) {
      if (!next || now + kAheadStealAfter < *next) next = now + kAheadStealAfter;
      ++i;
      continue;
    }
    aheads_.erase(aheads_.begin() + static_cast<std::ptrdiff_t>(i));
    PendingRequest p = withdrawn(std::move(*u));
    if (abandon_if_gone(p)) continue;
    ++stats_.rejected_timeout;
    reject(p, "timed out waiting for a worker");
  }
  // A free slot takes the oldest one that waited long enough behind a busy one.
  while (!aheads_.empty() && !free_.empty()) {
    auto slot = take_slot();
    if (!slot) break;
    std::optional<TimePoint> later;
    if (auto p = steal_ahead(now, &later)) {
      assign(std::move(slot), std::move(*p));
      continue;
    }
    add_free(std::move(slot));
    if (later && (!next || *later < *next)) next = later;
    break;
  }
  return next;
}

void Dispatcher::retry(PendingRequest p, int lost_worker_id) {
  ++stats_.retried;
  if (abandon_if_gone(p)) return;
  // The lost worker's other channels are dead too: never pick them.
  forget_free_of(lost_worker_id);
  HLOG(Info, "worker " << lost_worker_id << " died before answering " << p.request->method << " "
                       << p.request->target << "; retrying on another worker");
  submit(std::move(p));
}

[[gnu::always_inline]] inline void Dispatcher::add_free(std::shared_ptr<WorkerSlot> slot) {
  const int worker = slot->worker_id();
  free_.push_back(FreeSlot{std::move(slot), worker});
  count_free(worker, true);
}

void Dispatcher::on_slot_free(std::shared_ptr<WorkerSlot> slot) {
  if (slot->state() != WorkerSlot::State::Idle) return;
  while (!queue_.empty()) {
    auto p = queue_.pop(clock_.now());
    if (abandon_if_gone(*p)) continue;
    assign(std::move(slot), std::move(*p));
    return;
  }
  if (!aheads_.empty()) [[unlikely]] {
    // Nothing waits in the queue, but a request may wait behind a busy slot.
    std::optional<TimePoint> later;
    if (auto p = steal_ahead(clock_.now(), &later)) return assign(std::move(slot), std::move(*p));
    if (later) arm_timer_at(*later);
  }
  add_free(std::move(slot));
}


void Dispatcher::arm_timer() {
  if (auto deadline = queue_.next_deadline()) arm_timer_at(*deadline);
}

void Dispatcher::arm_timer_at(TimePoint when) {
  if (timer_armed_ && timer_at_ <= when) return;
  timer_armed_ = true;
  timer_at_ = when;
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(when - clock_.now()));
  timer_.async_wait([this, gen = ++timer_gen_](const boost::system::error_code& ec) {
    if (gen != timer_gen_) return;  // re-armed since: that wait is the one that counts
    timer_armed_ = false;
    if (ec) return;
    on_timer();
  });
}

void Dispatcher::on_timer() {
  const TimePoint now = clock_.now();
  auto expired = queue_.expire(now);
  for (auto& p : expired) {
    ++stats_.rejected_timeout;
    reject(p, "timed out waiting for a worker");
  }
  purge_gone();
  arm_timer();
  if (!aheads_.empty()) {
    if (auto next = sweep_ahead(now)) arm_timer_at(*next);
  }
}

void Dispatcher::purge_gone() {
  queue_.remove_if([this](PendingRequest& p) { return abandon_if_gone(p); });
}

void Dispatcher::reject_all(const char* why) {
  while (auto p = queue_.pop(clock_.now())) reject(*p, why);
}

}  // namespace hearth::proxy

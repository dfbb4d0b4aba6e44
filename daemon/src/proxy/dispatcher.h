#pragma once
// Matches buffered requests with free worker slots: a free slot takes the
// oldest waiting request; a request with no free slot waits in the bounded
// queue or gets 503 + Retry-After. Owns no sockets: it talks to slots and sinks.
// It is every slot's Home (WorkerSlot::Home): a slot whose exchange ended comes
// back through on_exchange_end with its ExchangeEnd (free or not, and a request
// to send again when its worker was lost before answering).
// Lifetime: outlives the pool's workers and their slots (the Daemon owns both).
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "http/handler.h"
#include "proxy/request_queue.h"
#include "supervisor/worker_slot.h"

namespace hearth::proxy {

struct PendingRequest {
  std::shared_ptr<http::Request> request;
  std::shared_ptr<http::ResponseSink> sink;
  std::string env_block;
  int attempts = 0;  // workers it was sent to so far
};

struct DispatchStats {
  uint64_t dispatched = 0;
  uint64_t queued = 0;
  uint64_t rejected_full = 0;
  uint64_t rejected_timeout = 0;
  uint64_t abandoned = 0;  // client left while queued
  uint64_t retried = 0;    // sent again after their worker died before answering
  uint64_t ahead = 0;      // sent to a busy slot, queued ahead of its current request (dispatch ahead)
  uint64_t ahead_returned = 0;  // of those, handed back unstarted (the slot failed first) and sent again
  uint64_t ahead_withdrawn = 0;  // of those, taken back from a slot still busy: to a free slot, or 503 at queue_timeout
};

class Dispatcher final : public supervisor::WorkerSlot::Home {
 public:
  Dispatcher(boost::asio::io_context& io, const ClockSource& clock, std::size_t max_queue,
             std::chrono::milliseconds queue_timeout);
  void submit(PendingRequest p);
  // Methods retried once on another worker when theirs dies before the
  // response starts (config `retry_methods`); empty = never.
  void set_retry_methods(std::vector<std::string> methods) { retry_methods_ = std::move(methods); }
  // A slot is free (its worker was admitted, or a test hands it in): it takes
  // the oldest waiting request or joins the free list. Ignored unless Idle.
  void on_slot_free(std::shared_ptr<supervisor::WorkerSlot> slot) override;
  // An exchange ended: Retry re-sends the handed-back request on another worker
  // (once, never on the lost one); a Free slot is taken back (on_slot_free).
  void on_exchange_end(std::shared_ptr<supervisor::WorkerSlot> slot, supervisor::ExchangeEnd&& end) override;
  // Dispatch ahead: a busy slot may be able to take its next request now. The
  // oldest waiting request goes to it if the slot can (WorkerSlot::can_take_ahead)
  // and the request qualifies (WorkerSlot::ahead_eligible); otherwise it waits
  // for a free slot, as every request did before.
  void on_ahead_wanted(supervisor::WorkerSlot& slot) override;
  // Dispatch ahead: the slot's current response streams or lost its client: the
  // request queued ahead there is taken back, to a free slot or the queue's head.
  void on_ahead_blocked(supervisor::WorkerSlot& slot) override;
  // Takes an idle slot of one worker out of the free list (for a health or
  // keep-warm request); null if it has none free. The slot comes back through
  // on_exchange_end when that exchange ends.
  std::shared_ptr<supervisor::WorkerSlot> borrow_slot(int worker_id);
  // Answer everything still queued with 503 (shutdown).
  void reject_all(const char* why);
  // Requests waiting for a worker: in the queue, and queued ahead on busy slots
  // (not started yet). max_queue bounds both together.
  std::size_t queue_length() const { return queue_.size() + ahead_held_; }
  std::size_t queued_ahead() const { return ahead_held_; }
  std::size_t free_slots() const { return free_.size(); }
  const DispatchStats& stats() const { return stats_; }

 private:
  std::shared_ptr<supervisor::WorkerSlot> take_slot();
  void count_free(int worker, bool add);
  std::size_t free_of(int worker) const;
  void erase_free(std::size_t i);  // free_[i] out, its worker's count down
  void assign(std::shared_ptr<supervisor::WorkerSlot> slot, PendingRequest&& p);
  // The timer fires at the earliest of: the queue's first deadline, a request
  // queued ahead reaching its queue deadline, and (a slot being free) one queued
  // ahead kAheadStealAfter ago. arm_timer_at() moves it earlier, never later.
  void arm_timer();
  void arm_timer_at(TimePoint when);
  void on_timer();
  // Dispatch ahead, taking back (WorkerSlot::withdraw_ahead): requests queued ahead
  // past their queue deadline get 503; while a slot is free, the oldest one queued
  // ahead for kAheadStealAfter or more goes to it. Returns the next time to look.
  std::optional<TimePoint> sweep_ahead(TimePoint now);
  // A slot asking for a request ahead (on_ahead_wanted) gets the oldest one queued
  // ahead elsewhere if that has waited kAheadStealAfter or more (its worker is slow
  // or not running: on 2 cores, often descheduled); true if it did.
  bool move_stuck_ahead(supervisor::WorkerSlot& slot);
  // The oldest request queued ahead for kAheadStealAfter or more, taken back; and,
  // else, the time when one will be (none: no request is queued ahead).
  std::optional<PendingRequest> steal_ahead(TimePoint now, std::optional<TimePoint>* later);
  // Drops queued requests whose client went away (counted as abandoned).
  void purge_gone();
  static void reject(PendingRequest& p, const char* why);
  // A request whose client went away is finished (counted as abandoned): true. False: it is live.
  bool abandon_if_gone(PendingRequest& p);
  // A request handed or taken back: first again (it was the oldest), to a free slot or the queue's head.
  void resend_first(PendingRequest&& p);
  // Writes `p` ahead on `slot` (can_take_ahead) and tracks it with its queue deadline.
  void go_ahead(supervisor::WorkerSlot& slot, PendingRequest&& p, TimePoint now, TimePoint deadline);
  bool retryable(const PendingRequest& p) const;
  void retry(PendingRequest p, int lost_worker_id);
  // A request queued ahead on a slot that failed first: back at the head of the queue
  // (it was the oldest), or to a free slot of another worker.
  void return_unstarted(PendingRequest p, int lost_worker_id);
  void forget_free_of(int worker_id);  // the free list without this (lost) worker's slots

  boost::asio::io_context& io_;
  const ClockSource& clock_;
  RequestQueue<PendingRequest> queue_;
  // Idle slots, most recently freed last, each with its worker's id; and how
  // many entries each worker has there (kept with every change to free_).
  struct FreeSlot {
    std::weak_ptr<supervisor::WorkerSlot> slot;
    int worker;
  };
  std::vector<FreeSlot> free_;
  std::vector<std::pair<int, std::size_t>> free_per_worker_;  // worker id, entries in free_
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  TimePoint timer_at_{};
  uint64_t timer_gen_ = 0;  // a wait armed before the last re-arm ignores its completion
  DispatchStats stats_;
  std::vector<std::string> retry_methods_;
  std::size_t ahead_held_ = 0;  // requests queued ahead on busy slots, not started yet
  // Slots that asked for a request ahead while the queue was empty (each listed
  // once, WorkerSlot::ahead_listed; dropped when gone): a request that has to
  // queue goes ahead on the first of them that can take it then.
  std::vector<std::weak_ptr<supervisor::WorkerSlot>> wanting_;
  // Requests sent ahead, oldest first, while they may still be waiting on their
  // slot (an entry whose slot no longer holds that one, WorkerSlot::ahead_seq, is stale and dropped).
  struct Ahead {
    std::weak_ptr<supervisor::WorkerSlot> slot;
    uint64_t seq;
    TimePoint sent;
    TimePoint deadline;  // its queue_timeout, from when it was first queued
  };
  std::deque<Ahead> aheads_;
  // Its slot if it still holds that request unstarted, else null.
  static std::shared_ptr<supervisor::WorkerSlot> holder(const Ahead& a);
  void add_free(std::shared_ptr<supervisor::WorkerSlot> slot);
  // A request taken back from its slot (withdraw_ahead), as it was before it went ahead.
  PendingRequest withdrawn(supervisor::ExchangeEnd::Unstarted&& u);
  // A request queued ahead may be taken from a busy slot for a free one once it
  // has waited this long: the slot's current request is no quick one.
  static constexpr std::chrono::milliseconds kAheadStealAfter{1};
};

}  // namespace hearth::proxy

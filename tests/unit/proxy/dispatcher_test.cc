#include "proxy/dispatcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../supervisor/slot_harness.h"

namespace hearth::proxy {
namespace {

using namespace std::string_literals;
using hearth::testing::make_request;
using hearth::testing::RecordingSink;
using hearth::testing::run_for;
using hearth::testing::run_until;
using hearth::testing::SlotPair;
using supervisor::WorkerSlot;
using ms = std::chrono::milliseconds;

class DispatcherTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& p : pairs_) p.shutdown(io_);
  }
  // A slot whose home is the current dispatcher but that has no owner: its
  // fate is Withheld, so the test calls on_slot_free itself; a request handed
  // back (ExchangeOutcome::Retry) still reaches the dispatcher.
  std::shared_ptr<WorkerSlot> add_slot(int worker_id = 1, int index = 0) {
    pairs_.push_back(SlotPair::make(io_, nullptr, worker_id, index, ms{0}, d_.get()));
    return pairs_.back().slot;
  }
  // A slot whose exchanges `owner` observes: owner.fate decides whether it comes back.
  std::shared_ptr<WorkerSlot> add_owned_slot(hearth::testing::RecordingOwner& owner, int worker_id, int index = 0,
                                             ms timeout = ms{0}) {
    pairs_.push_back(SlotPair::make(io_, &owner, worker_id, index, timeout, d_.get()));
    return pairs_.back().slot;
  }
  // A dispatch-ahead slot (set_dispatch_ahead) of a Ready worker that comes back Free.
  std::shared_ptr<WorkerSlot> add_ahead_slot(int worker_id) {
    auto slot = add_owned_slot(ahead_owner_, worker_id);
    slot->set_dispatch_ahead(true);
    return slot;
  }
  hearth::testing::FakeWorker& worker_of(const std::shared_ptr<WorkerSlot>& s) {
    for (auto& p : pairs_)
      if (p.slot == s) return *p.worker;
    throw std::logic_error("no such slot");
  }
  PendingRequest pending(const std::string& path, std::shared_ptr<RecordingSink> sink) {
    return PendingRequest{make_request("GET", path), std::move(sink), "PATH_INFO\0"s + path};
  }
  std::shared_ptr<RecordingSink> new_sink() { return std::make_shared<RecordingSink>(); }

  static void expect_503(const RecordingSink& s, const std::string& why) {
    EXPECT_EQ(s.starts, 1);
    EXPECT_EQ(s.status, 503);
    EXPECT_EQ(s.header("Retry-After"), "1");
    EXPECT_EQ(s.header("Content-Type"), "text/plain");
    EXPECT_EQ(s.body_text, "Service Unavailable: " + why + "\n");
    EXPECT_EQ(s.header("Content-Length"), std::to_string(s.body_text.size()));
    EXPECT_EQ(s.finishes, 1);
    EXPECT_EQ(s.finished_ok, true);
  }

  // The Dispatcher lives until after TearDown, whose io_.poll() may still run
  // its (cancelled) timer handler; it is destroyed before io_.
  // A second make() keeps the first dispatcher alive: its slots still name it their home.
  Dispatcher& make(std::size_t max_queue, ms queue_timeout, const ClockSource* clock = nullptr) {
    if (d_) old_.push_back(std::move(d_));
    d_ = std::make_unique<Dispatcher>(io_, clock ? *clock : clock_, max_queue, queue_timeout);
    return *d_;
  }

  boost::asio::io_context io_;
  // Declared before pairs_: the slots' owner outlives them.
  hearth::testing::RecordingOwner ahead_owner_ = [] {
    hearth::testing::RecordingOwner o;
    o.fate = supervisor::SlotFate::Free;
    o.ahead_ok = true;
    return o;
  }();
  ManualClock clock_;
  SteadyClock steady_;
  std::vector<SlotPair> pairs_;
  std::vector<std::unique_ptr<Dispatcher>> old_;
  std::unique_ptr<Dispatcher> d_;
};

TEST_F(DispatcherTest, RequestGoesToAFreeSlot) {
  Dispatcher& d = make(10, ms{1000});
  auto slot = add_slot();
  d.on_slot_free(slot);
  EXPECT_EQ(d.free_slots(), 1u);

  auto sink = new_sink();
  d.submit(pending("/a", sink));
  EXPECT_EQ(slot->state(), WorkerSlot::State::Busy);
  EXPECT_EQ(d.free_slots(), 0u);
  EXPECT_EQ(d.queue_length(), 0u);
  EXPECT_EQ(d.stats().dispatched, 1u);
  EXPECT_EQ(d.stats().queued, 0u);

  auto req = worker_of(slot).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/a"s);
  worker_of(slot).respond("200 OK", "A");
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  EXPECT_EQ(sink->status, 200);
  EXPECT_EQ(sink->body_text, "A");
  EXPECT_EQ(slot->state(), WorkerSlot::State::Idle);
}

TEST_F(DispatcherTest, QueuesWithoutAFreeSlotAndAssignsWhenOneFrees) {
  Dispatcher& d = make(10, ms{1000});
  auto s1 = new_sink();
  auto s2 = new_sink();
  d.submit(pending("/first", s1));
  d.submit(pending("/second", s2));
  EXPECT_EQ(d.queue_length(), 2u);
  EXPECT_EQ(d.stats().queued, 2u);
  EXPECT_EQ(d.stats().dispatched, 0u);
  EXPECT_EQ(s1->starts, 0);

  auto slot = add_slot();
  clock_.advance(ms{300});
  d.on_slot_free(slot);
  EXPECT_EQ(d.queue_length(), 1u);
  EXPECT_EQ(d.free_slots(), 0u);  // the slot went straight to the oldest request
  EXPECT_EQ(slot->state(), WorkerSlot::State::Busy);
  auto req = worker_of(slot).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/first"s);
  worker_of(slot).respond("200 OK", "1");
  ASSERT_TRUE(run_until(io_, [&] { return s1->finished() && slot->state() == WorkerSlot::State::Idle; }));

  d.on_slot_free(slot);
  req = worker_of(slot).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/second"s);
  EXPECT_EQ(d.queue_length(), 0u);
  EXPECT_EQ(d.stats().dispatched, 2u);
  EXPECT_EQ(d.stats().rejected_timeout, 0u);
}

TEST_F(DispatcherTest, BusySlotOfferedAsFreeIsIgnored) {
  Dispatcher& d = make(10, ms{1000});
  auto slot = add_slot();
  d.on_slot_free(slot);
  d.submit(pending("/a", new_sink()));
  ASSERT_EQ(slot->state(), WorkerSlot::State::Busy);
  d.on_slot_free(slot);  // a stale notification while busy
  EXPECT_EQ(d.free_slots(), 0u);
}

TEST_F(DispatcherTest, ClosedFreeSlotIsNotUsed) {
  Dispatcher& d = make(10, ms{1000});
  auto slot = add_slot();
  d.on_slot_free(slot);
  slot->close();
  auto sink = new_sink();
  d.submit(pending("/a", sink));
  EXPECT_EQ(d.stats().dispatched, 0u);
  EXPECT_EQ(d.queue_length(), 1u);
  EXPECT_EQ(d.free_slots(), 0u);
  EXPECT_EQ(sink->starts, 0);
}

TEST_F(DispatcherTest, PrefersTheWorkerWithMostFreeSlots) {
  Dispatcher& d = make(10, ms{1000});
  auto w1a = add_slot(1, 0);
  auto w2a = add_slot(2, 0);
  auto w1b = add_slot(1, 1);
  d.on_slot_free(w1a);
  d.on_slot_free(w2a);
  d.on_slot_free(w1b);
  d.submit(pending("/x", new_sink()));
  // Worker 1 has two free slots; of those, the most recently freed one wins.
  EXPECT_EQ(w1b->state(), WorkerSlot::State::Busy);
  EXPECT_EQ(w1a->state(), WorkerSlot::State::Idle);
  EXPECT_EQ(w2a->state(), WorkerSlot::State::Idle);
  // Now a tie (one each): the most recently freed, w2a.
  d.submit(pending("/y", new_sink()));
  EXPECT_EQ(w2a->state(), WorkerSlot::State::Busy);
  EXPECT_EQ(w1a->state(), WorkerSlot::State::Idle);
  d.submit(pending("/z", new_sink()));
  EXPECT_EQ(w1a->state(), WorkerSlot::State::Busy);
  EXPECT_EQ(d.free_slots(), 0u);
}

TEST_F(DispatcherTest, ManySlotsPerWorkerAreSpreadEvenly) {
  // Two ASGI workers with 100 slots each (concurrency): requests alternate between them,
  // so after 100 each worker holds 50.
  Dispatcher& d = make(10, ms{1000});
  std::vector<std::shared_ptr<WorkerSlot>> slots;
  for (int i = 0; i < 100; ++i) {
    for (int w = 1; w <= 2; ++w) {
      slots.push_back(add_slot(w, i));
      d.on_slot_free(slots.back());
    }
  }
  for (int i = 0; i < 100; ++i) d.submit(pending("/r", new_sink()));
  int busy[3] = {0, 0, 0};
  for (auto& s : slots) busy[s->worker_id()] += s->state() == WorkerSlot::State::Busy ? 1 : 0;
  EXPECT_EQ(busy[1], 50);
  EXPECT_EQ(busy[2], 50);
  EXPECT_EQ(d.free_slots(), 100u);
  EXPECT_EQ(d.stats().dispatched, 100u);
}

TEST_F(DispatcherTest, QueueFullIs503WithRetryAfter) {
  Dispatcher& d = make(2, ms{1000});
  auto s1 = new_sink(), s2 = new_sink(), s3 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(pending("/2", s2));
  d.submit(pending("/3", s3));
  EXPECT_EQ(d.queue_length(), 2u);
  EXPECT_EQ(d.stats().rejected_full, 1u);
  EXPECT_EQ(s1->starts, 0);
  EXPECT_EQ(s2->starts, 0);
  expect_503(*s3, "too many requests waiting for a worker");
}

TEST_F(DispatcherTest, FullQueueOfGoneClientsMakesRoomInsteadOf503) {
  // An h2 rapid-reset flood: every reset stream left a request in the queue.
  Dispatcher& d = make(2, ms{1000});
  auto g1 = new_sink(), g2 = new_sink(), live = new_sink(), extra = new_sink();
  d.submit(pending("/g1", g1));
  d.submit(pending("/g2", g2));
  g1->gone = true;
  g2->gone = true;
  d.submit(pending("/live", live));
  EXPECT_EQ(live->starts, 0);  // queued, not refused
  EXPECT_EQ(d.queue_length(), 1u);
  EXPECT_EQ(d.stats().rejected_full, 0u);
  EXPECT_EQ(d.stats().abandoned, 2u);
  EXPECT_EQ(g1->finishes, 1);
  EXPECT_EQ(g1->finished_ok, false);
  EXPECT_EQ(g2->starts, 0);
  // Live clients still fill the queue and the next one is refused.
  d.submit(pending("/extra", extra));
  auto refused = new_sink();
  d.submit(pending("/refused", refused));
  EXPECT_EQ(d.queue_length(), 2u);
  EXPECT_EQ(extra->starts, 0);
  expect_503(*refused, "too many requests waiting for a worker");
  auto slot = add_slot();
  d.on_slot_free(slot);
  auto req = worker_of(slot).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/live"s);
}

TEST_F(DispatcherTest, ZeroQueueRejectsWhenNoSlot) {
  Dispatcher& d = make(0, ms{1000});
  auto s = new_sink();
  d.submit(pending("/1", s));
  expect_503(*s, "too many requests waiting for a worker");
  EXPECT_EQ(d.queue_length(), 0u);
}

TEST_F(DispatcherTest, QueueTimeoutIs503) {
  Dispatcher& d = make(10, ms{50}, &steady_);
  auto s = new_sink();
  auto t0 = std::chrono::steady_clock::now();
  d.submit(pending("/slow", s));
  ASSERT_TRUE(run_until(io_, [&] { return s->finished(); }, ms{3000}));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, ms{50});
  expect_503(*s, "timed out waiting for a worker");
  EXPECT_EQ(d.queue_length(), 0u);
  EXPECT_EQ(d.stats().rejected_timeout, 1u);
  EXPECT_EQ(d.stats().queued, 1u);

  // A slot that frees afterwards stays free: nothing is left to give it.
  auto slot = add_slot();
  d.on_slot_free(slot);
  EXPECT_EQ(d.free_slots(), 1u);
  EXPECT_EQ(slot->state(), WorkerSlot::State::Idle);
}

TEST_F(DispatcherTest, QueueTimeoutFollowsTheInjectedClock) {
  // The timer wakes on real time, but what has expired is decided by the
  // injected clock: without advancing it nothing times out.
  Dispatcher& d = make(10, ms{30});
  auto s1 = new_sink();
  auto s2 = new_sink();
  d.submit(pending("/1", s1));
  clock_.advance(ms{20});
  d.submit(pending("/2", s2));
  run_for(io_, ms{80});
  EXPECT_EQ(s1->starts, 0);
  EXPECT_EQ(d.queue_length(), 2u);

  clock_.advance(ms{10});  // t=30: only the first is due
  ASSERT_TRUE(run_until(io_, [&] { return s1->finished(); }));
  expect_503(*s1, "timed out waiting for a worker");
  EXPECT_EQ(s2->starts, 0);
  EXPECT_EQ(d.queue_length(), 1u);

  clock_.advance(ms{20});
  ASSERT_TRUE(run_until(io_, [&] { return s2->finished(); }));
  expect_503(*s2, "timed out waiting for a worker");
  EXPECT_EQ(d.stats().rejected_timeout, 2u);
}

TEST_F(DispatcherTest, ClientGoneWhileQueuedIsSkipped) {
  Dispatcher& d = make(10, ms{1000});
  auto gone = new_sink();
  auto waiting = new_sink();
  d.submit(pending("/gone", gone));
  d.submit(pending("/waiting", waiting));
  gone->gone = true;

  auto slot = add_slot();
  d.on_slot_free(slot);
  EXPECT_EQ(d.stats().abandoned, 1u);
  EXPECT_EQ(gone->starts, 0);
  EXPECT_EQ(gone->finishes, 1);
  EXPECT_EQ(gone->finished_ok, false);
  auto req = worker_of(slot).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/waiting"s);
  EXPECT_EQ(d.queue_length(), 0u);
  EXPECT_EQ(d.stats().dispatched, 1u);
}

TEST_F(DispatcherTest, OnlyGoneClientsQueuedLeaveTheSlotFree) {
  Dispatcher& d = make(10, ms{1000});
  auto gone = new_sink();
  d.submit(pending("/gone", gone));
  gone->gone = true;
  auto slot = add_slot();
  d.on_slot_free(slot);
  EXPECT_EQ(gone->finishes, 1);
  EXPECT_EQ(d.free_slots(), 1u);
  EXPECT_EQ(slot->state(), WorkerSlot::State::Idle);
}

TEST_F(DispatcherTest, GoneClientsArePurgedWhenTheTimerRuns) {
  Dispatcher& d = make(10, ms{30});
  auto gone = new_sink();
  d.submit(pending("/gone", gone));
  gone->gone = true;
  // The timer wakes at the first deadline; the clock has not reached it, but
  // the departed client is dropped anyway.
  ASSERT_TRUE(run_until(io_, [&] { return gone->finished(); }));
  EXPECT_EQ(gone->starts, 0);
  EXPECT_EQ(gone->finished_ok, false);
  EXPECT_EQ(d.stats().abandoned, 1u);
  EXPECT_EQ(d.queue_length(), 0u);
}

TEST_F(DispatcherTest, BorrowSlotTakesAnIdleSlotOfThatWorker) {
  Dispatcher& d = make(10, ms{1000});
  auto w1 = add_slot(1, 0);
  auto w2a = add_slot(2, 0);
  auto w2b = add_slot(2, 1);
  EXPECT_EQ(d.borrow_slot(1), nullptr);  // nothing free yet
  d.on_slot_free(w1);
  d.on_slot_free(w2a);
  d.on_slot_free(w2b);
  EXPECT_EQ(d.borrow_slot(3), nullptr);
  EXPECT_EQ(d.free_slots(), 3u);
  EXPECT_EQ(d.borrow_slot(2), w2b);  // the most recently freed of worker 2
  EXPECT_EQ(d.free_slots(), 2u);
  EXPECT_EQ(d.borrow_slot(2), w2a);
  EXPECT_EQ(d.borrow_slot(2), nullptr);
  EXPECT_EQ(d.free_slots(), 1u);
  // A borrowed slot is not handed to user requests.
  auto sink = new_sink();
  d.submit(pending("/a", sink));
  EXPECT_EQ(w1->state(), WorkerSlot::State::Busy);
  EXPECT_EQ(w2a->state(), WorkerSlot::State::Idle);
  EXPECT_EQ(w2b->state(), WorkerSlot::State::Idle);
  d.submit(pending("/b", new_sink()));
  EXPECT_EQ(d.queue_length(), 1u);
  // Returned through on_slot_free, it takes the waiting request.
  d.on_slot_free(w2a);
  EXPECT_EQ(w2a->state(), WorkerSlot::State::Busy);
  EXPECT_EQ(d.queue_length(), 0u);
}

TEST_F(DispatcherTest, BorrowSlotSkipsClosedSlots) {
  Dispatcher& d = make(10, ms{1000});
  auto s = add_slot(4, 0);
  d.on_slot_free(s);
  s->close();
  EXPECT_EQ(d.borrow_slot(4), nullptr);
}

TEST_F(DispatcherTest, RejectAllAnswersEveryQueuedRequest) {
  Dispatcher& d = make(10, ms{1000});
  auto s1 = new_sink(), s2 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(pending("/2", s2));
  d.reject_all("shutting down");
  expect_503(*s1, "shutting down");
  expect_503(*s2, "shutting down");
  EXPECT_EQ(d.queue_length(), 0u);
}


// Worker 1 dies (its end of the socket closes) with a GET in flight and no
// response: the GET goes to worker 2 instead of a 502.
TEST_F(DispatcherTest, GetWhoseWorkerDiedBeforeAnsweringIsRetriedElsewhere) {
  Dispatcher& d = make(10, ms{1000});
  d.set_retry_methods({"GET", "HEAD"});
  auto dead = add_slot(1, 0);
  auto dead_twin = add_slot(1, 1);  // the same worker's other thread
  auto live = add_slot(2, 0);
  d.on_slot_free(live);
  d.on_slot_free(dead_twin);
  d.on_slot_free(dead);
  auto sink = new_sink();
  d.submit(pending("/a", sink));
  ASSERT_EQ(dead->state(), WorkerSlot::State::Busy);  // worker 1 had more free slots
  ASSERT_TRUE(worker_of(dead).await_request(io_));
  worker_of(dead).close();
  worker_of(dead_twin).close();
  auto req = worker_of(live).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/a"s);
  worker_of(live).respond("200 OK", "from 2");
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  EXPECT_EQ(sink->status, 200);
  EXPECT_EQ(sink->body_text, "from 2");
  EXPECT_EQ(sink->starts, 1);
  EXPECT_EQ(d.stats().retried, 1u);
  EXPECT_EQ(d.stats().dispatched, 2u);
}

TEST_F(DispatcherTest, PostWhoseWorkerDiedIs502) {
  Dispatcher& d = make(10, ms{1000});
  d.set_retry_methods({"GET", "HEAD"});
  auto dead = add_slot(1, 0);
  auto live = add_slot(2, 0);
  d.on_slot_free(live);
  d.on_slot_free(dead);
  auto sink = new_sink();
  d.submit(PendingRequest{make_request("POST", "/p", "x=1"), sink, "PATH_INFO\0/p"s});
  ASSERT_EQ(dead->state(), WorkerSlot::State::Busy);
  ASSERT_TRUE(worker_of(dead).await_request(io_));
  worker_of(dead).close();
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  EXPECT_EQ(sink->status, 502);
  EXPECT_EQ(d.stats().retried, 0u);
  EXPECT_EQ(live->state(), WorkerSlot::State::Idle);
}

TEST_F(DispatcherTest, RetryIsOnceAndOffWhenNoMethodsAreListed) {
  {
    Dispatcher& d = make(10, ms{1000});
    d.set_retry_methods({"GET"});
    auto a = add_slot(1, 0);
    auto b = add_slot(2, 0);
    d.on_slot_free(a);
    d.on_slot_free(b);
    auto sink = new_sink();
    d.submit(pending("/twice", sink));
    auto first = b->state() == WorkerSlot::State::Busy ? b : a;
    auto second = first == a ? b : a;
    ASSERT_TRUE(worker_of(first).await_request(io_));
    worker_of(first).close();
    ASSERT_TRUE(worker_of(second).await_request(io_));
    worker_of(second).close();  // the retry's worker dies too: now a 502
    ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
    EXPECT_EQ(sink->status, 502);
    EXPECT_EQ(d.stats().retried, 1u);
  }
  {
    Dispatcher& d = make(10, ms{1000});  // no retry methods set
    auto a = add_slot(3, 0);
    auto b = add_slot(4, 0);
    d.on_slot_free(a);
    d.on_slot_free(b);
    auto sink = new_sink();
    d.submit(pending("/once", sink));
    auto first = b->state() == WorkerSlot::State::Busy ? b : a;
    ASSERT_TRUE(worker_of(first).await_request(io_));
    worker_of(first).close();
    ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
    EXPECT_EQ(sink->status, 502);
    EXPECT_EQ(d.stats().retried, 0u);
  }
}

// Once a response byte reached the client, a retry would duplicate it.
TEST_F(DispatcherTest, NoRetryAfterTheResponseStarted) {
  Dispatcher& d = make(10, ms{1000});
  d.set_retry_methods({"GET"});
  auto a = add_slot(1, 0);
  auto b = add_slot(2, 0);
  d.on_slot_free(a);
  d.on_slot_free(b);
  auto sink = new_sink();
  d.submit(pending("/half", sink));
  auto first = b->state() == WorkerSlot::State::Busy ? b : a;
  ASSERT_TRUE(worker_of(first).await_request(io_));
  worker_of(first).send(supervisor::FrameType::ResponseStart, "200 OK");
  ASSERT_TRUE(run_until(io_, [&] { return sink->starts == 1; }));
  worker_of(first).close();
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  EXPECT_EQ(sink->status, 200);
  EXPECT_EQ(sink->finished_ok, false);
  EXPECT_EQ(d.stats().retried, 0u);
}

// --- a slot's return: ExchangeEnd values instead of a stored callback --------

supervisor::ExchangeEnd ended(supervisor::ExchangeOutcome outcome, supervisor::SlotFate fate) {
  supervisor::ExchangeEnd e;
  e.outcome = outcome;
  e.fate = fate;
  return e;
}

// What a slot hands back when its worker was lost before answering.
supervisor::ExchangeEnd handed_back(std::shared_ptr<http::Request> request, std::string env,
                                    std::shared_ptr<http::ResponseSink> sink) {
  auto e = ended(supervisor::ExchangeOutcome::Retry, supervisor::SlotFate::Withheld);
  e.request = std::move(request);
  e.env_block = std::move(env);
  e.sink = std::move(sink);
  return e;
}

// The dispatcher acts on the value alone: each outcome, each fate.
TEST_F(DispatcherTest, ExchangeEndValuesAreActedOn) {
  Dispatcher& d = make(10, ms{1000});
  d.set_retry_methods({"GET"});
  auto lost = add_slot(1, 0);
  auto done = add_slot(2, 0);
  auto other = add_slot(3, 0);

  // Done or Failed, Withheld: the slot stays out (its worker is stopping).
  d.on_exchange_end(done, ended(supervisor::ExchangeOutcome::Done, supervisor::SlotFate::Withheld));
  d.on_exchange_end(done, ended(supervisor::ExchangeOutcome::Failed, supervisor::SlotFate::Withheld));
  EXPECT_EQ(d.free_slots(), 0u);
  // Done or Failed, Free: taken back once per end.
  d.on_exchange_end(other, ended(supervisor::ExchangeOutcome::Failed, supervisor::SlotFate::Free));
  EXPECT_EQ(d.free_slots(), 1u);
  d.on_exchange_end(done, ended(supervisor::ExchangeOutcome::Done, supervisor::SlotFate::Free));
  EXPECT_EQ(d.free_slots(), 2u);

  // Retry: the handed-back request goes to another worker's free slot, never the lost one's.
  auto sink = new_sink();
  d.on_exchange_end(lost, handed_back(make_request("GET", "/again"), "PATH_INFO\0/again"s, sink));
  EXPECT_EQ(d.stats().retried, 1u);
  EXPECT_EQ(d.stats().dispatched, 1u);
  EXPECT_EQ(d.free_slots(), 1u);
  EXPECT_EQ(lost->state(), WorkerSlot::State::Idle);  // never handed the retry
  auto& to = done->state() == WorkerSlot::State::Busy ? worker_of(done) : worker_of(other);
  auto req = to.await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/again"s);
}

// A worker that finished an exchange and is still Ready: its slot comes back by
// itself (the owner says Free) and takes the oldest waiting request.
TEST_F(DispatcherTest, FreedSlotComesBackAndTakesTheNextRequest) {
  Dispatcher& d = make(10, ms{1000});
  hearth::testing::RecordingOwner owner;
  owner.fate = supervisor::SlotFate::Free;
  auto slot = add_owned_slot(owner, 1);
  d.on_slot_free(slot);  // admitted
  auto s1 = new_sink(), s2 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(pending("/2", s2));
  EXPECT_EQ(d.queue_length(), 1u);
  ASSERT_TRUE(worker_of(slot).await_request(io_));
  worker_of(slot).respond("200 OK", "one");
  // No on_slot_free from the test: the slot's own return path brings it back.
  auto req = worker_of(slot).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/2"s);
  EXPECT_EQ(s1->status, 200);
  EXPECT_EQ(d.queue_length(), 0u);
  EXPECT_EQ(owner.outcomes.size(), 1u);  // observed once
  worker_of(slot).respond("200 OK", "two");
  ASSERT_TRUE(run_until(io_, [&] { return s2->finished(); }));
  EXPECT_EQ(d.free_slots(), 1u);  // nothing waiting: it joins the free list
}

// A slot freed while its worker is stopping (draining, ejected, recycled) is
// not taken back: the waiting request stays queued for another worker.
TEST_F(DispatcherTest, SlotFreedWhileItsWorkerIsStoppingIsNotTakenBack) {
  Dispatcher& d = make(10, ms{1000});
  hearth::testing::RecordingOwner owner;
  owner.fate = supervisor::SlotFate::Free;
  auto slot = add_owned_slot(owner, 1);
  d.on_slot_free(slot);
  auto s1 = new_sink(), s2 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(pending("/2", s2));
  ASSERT_TRUE(worker_of(slot).await_request(io_));
  owner.fate = supervisor::SlotFate::Withheld;  // the worker was stopped meanwhile
  worker_of(slot).respond("200 OK", "one");
  ASSERT_TRUE(run_until(io_, [&] { return s1->finished(); }));
  run_for(io_, ms{20});
  EXPECT_EQ(slot->state(), WorkerSlot::State::Idle);
  EXPECT_EQ(d.free_slots(), 0u);
  EXPECT_EQ(d.queue_length(), 1u);
  EXPECT_EQ(s2->starts, 0);
  EXPECT_TRUE(worker_of(slot).inbox().empty());
  // Another worker's slot serves it.
  auto next = add_slot(2, 0);
  d.on_slot_free(next);
  auto req = worker_of(next).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/2"s);
}

// The only worker dies before answering a GET: the retry finds no other worker,
// waits in the queue (never on the dead worker's other slot) and is served by
// the first slot that frees.
TEST_F(DispatcherTest, RetryThatFindsNoOtherWorkerWaitsForOne) {
  Dispatcher& d = make(10, ms{1000});
  d.set_retry_methods({"GET"});
  auto dead = add_slot(1, 0);
  auto dead_twin = add_slot(1, 1);
  d.on_slot_free(dead_twin);
  d.on_slot_free(dead);
  auto sink = new_sink();
  d.submit(pending("/a", sink));
  auto& first = dead->state() == WorkerSlot::State::Busy ? worker_of(dead) : worker_of(dead_twin);
  ASSERT_TRUE(first.await_request(io_));
  first.close();
  ASSERT_TRUE(run_until(io_, [&] { return d.stats().retried == 1u; }));
  EXPECT_EQ(d.queue_length(), 1u);
  EXPECT_EQ(d.free_slots(), 0u);  // the dead worker's idle slot was dropped
  EXPECT_EQ(d.stats().dispatched, 1u);
  EXPECT_EQ(sink->starts, 0);

  auto fresh = add_slot(2, 0);
  d.on_slot_free(fresh);
  auto req = worker_of(fresh).await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->environ, "PATH_INFO\0/a"s);
  worker_of(fresh).respond("200 OK", "from 2");
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  EXPECT_EQ(sink->status, 200);
  EXPECT_EQ(d.stats().dispatched, 2u);
}

// ...and when no worker comes within queue_timeout, it is answered 503 like any
// queued request.
TEST_F(DispatcherTest, RetryThatFindsNoOtherWorkerTimesOut) {
  Dispatcher& d = make(10, ms{50}, &steady_);
  d.set_retry_methods({"GET"});
  auto dead = add_slot(1, 0);
  d.on_slot_free(dead);
  auto sink = new_sink();
  d.submit(pending("/a", sink));
  ASSERT_TRUE(worker_of(dead).await_request(io_));
  worker_of(dead).close();
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  expect_503(*sink, "timed out waiting for a worker");
  EXPECT_EQ(d.stats().retried, 1u);
  EXPECT_EQ(d.stats().rejected_timeout, 1u);
}

// A retried request whose client left meanwhile is dropped, not re-sent.
TEST_F(DispatcherTest, RetryOfAGoneClientIsAbandoned) {
  Dispatcher& d = make(10, ms{1000});
  d.set_retry_methods({"GET"});
  auto lost = add_slot(1, 0);
  auto live = add_slot(2, 0);
  d.on_slot_free(live);
  auto sink = new_sink();
  sink->gone = true;
  d.on_exchange_end(lost, handed_back(make_request("GET", "/x"), "PATH_INFO\0/x"s, sink));
  EXPECT_EQ(d.stats().abandoned, 1u);
  EXPECT_EQ(d.stats().dispatched, 0u);
  EXPECT_EQ(live->state(), WorkerSlot::State::Idle);
  EXPECT_EQ(sink->finished_ok, false);
}

// --- dispatch ahead (docs/worker-protocol.md "Dispatch ahead") ---

TEST_F(DispatcherTest, AQueuedRequestGoesAheadOnABusySlotAndCountsAsWaiting) {
  Dispatcher& d = make(3, ms{1000});
  auto slot = add_ahead_slot(1);
  d.on_slot_free(slot);
  auto s1 = new_sink(), s2 = new_sink(), s3 = new_sink(), s4 = new_sink(), s5 = new_sink();
  d.submit(pending("/1", s1));  // to the slot; the queue was empty: nothing ahead
  EXPECT_EQ(slot->ahead_state(), WorkerSlot::AheadState::None);
  d.submit(pending("/2", s2));  // queued, and at once ahead on the busy slot that asked
  EXPECT_EQ(slot->ahead_state(), WorkerSlot::AheadState::Written);
  EXPECT_EQ(d.queue_length(), 1u);
  d.submit(pending("/3", s3));
  d.submit(pending("/4", s4));
  EXPECT_EQ(d.queue_length(), 3u);  // max_queue 3: full
  d.submit(pending("/5", s5));
  expect_503(*s5, "too many requests waiting for a worker");

  auto& w = worker_of(slot);
  ASSERT_TRUE(w.await_request(io_));
  w.respond("200 OK", "1");  // /1 ends; /2 becomes current, and /3 goes ahead
  auto r2 = w.await_request(io_);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->environ, "PATH_INFO\0/2"s);
  auto r3 = w.await_request(io_);  // ahead of /2's response
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->environ, "PATH_INFO\0/3"s);
  EXPECT_EQ(slot->ahead_state(), WorkerSlot::AheadState::Written);
  EXPECT_EQ(d.queue_length(), 2u);  // /3 (ahead) and /4 (queued) still wait
  EXPECT_EQ(d.queued_ahead(), 1u);
  EXPECT_EQ(d.stats().ahead, 2u);

  w.respond("200 OK", "2");
  auto r4 = w.await_request(io_);
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->environ, "PATH_INFO\0/4"s);
  w.respond("200 OK", "3");
  w.respond("200 OK", "4");
  ASSERT_TRUE(run_until(io_, [&] { return s4->finished(); }));
  EXPECT_EQ(s2->body_text, "2");
  EXPECT_EQ(s3->body_text, "3");
  EXPECT_EQ(s4->body_text, "4");
  ASSERT_TRUE(run_until(io_, [&] { return slot->state() == WorkerSlot::State::Idle; }));
  EXPECT_EQ(d.queue_length(), 0u);
  EXPECT_EQ(d.queued_ahead(), 0u);
  EXPECT_EQ(d.stats().ahead, 3u);
  EXPECT_EQ(d.stats().dispatched, 4u);
  EXPECT_EQ(d.free_slots(), 1u);
}

TEST_F(DispatcherTest, ARequestWithABodyOrAnUnsafeMethodDoesNotGoAhead) {
  Dispatcher& d = make(10, ms{1000});
  auto slot = add_ahead_slot(1);
  auto s1 = new_sink(), s2 = new_sink(), s3 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(PendingRequest{make_request("POST", "/p", "b"), s2, "PATH_INFO\0/p"s});
  d.submit(pending("/3", s3));
  d.on_slot_free(slot);  // takes /1; the POST cannot go ahead, and /3 waits behind it (FIFO)
  auto& w = worker_of(slot);
  ASSERT_TRUE(w.await_request(io_));
  run_for(io_, ms{20});
  EXPECT_FALSE(w.take_request());
  EXPECT_EQ(slot->ahead_state(), WorkerSlot::AheadState::None);
  EXPECT_EQ(d.queue_length(), 2u);
}

TEST_F(DispatcherTest, AnAheadRequestOfADeadWorkerIsSentElsewhereWithoutUsingItsRetry) {
  Dispatcher& d = make(10, ms{1000});
  auto dead = add_ahead_slot(1);
  d.on_slot_free(dead);
  auto s1 = new_sink(), s2 = new_sink(), s3 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(pending("/2", s2));
  d.submit(pending("/3", s3));
  // /2 went ahead on the busy slot as soon as /1 was out; /3 waits in the queue.
  ASSERT_EQ(dead->ahead_state(), WorkerSlot::AheadState::Written);
  EXPECT_EQ(d.queue_length(), 2u);
  ASSERT_TRUE(worker_of(dead).await_request(io_));
  ASSERT_TRUE(worker_of(dead).await_request(io_));
  worker_of(dead).close();
  ASSERT_TRUE(run_until(io_, [&] { return s1->finished(); }));
  EXPECT_EQ(s1->status, 502);  // the current one: not retryable (no retry_methods)
  EXPECT_FALSE(s2->finished());
  EXPECT_EQ(d.stats().ahead_returned, 1u);
  EXPECT_EQ(d.queue_length(), 2u);  // /2 back at the head, then /3

  auto live = add_slot(2);
  d.on_slot_free(live);
  auto r = worker_of(live).await_request(io_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->environ, "PATH_INFO\0/2"s);  // first: it was the oldest
  worker_of(live).respond("200 OK", "from 2");
  ASSERT_TRUE(run_until(io_, [&] { return s2->finished(); }));
  EXPECT_EQ(s2->status, 200);
  EXPECT_EQ(s2->body_text, "from 2");
  EXPECT_EQ(d.stats().retried, 0u);  // not a retry: it never started
}

// queue_timeout still bounds a request queued ahead: behind a request that does not
// end, it is taken back (a CLIENT_GONE behind it) and answered 503 as from the queue.
TEST_F(DispatcherTest, ARequestQueuedAheadGets503AtItsQueueTimeout) {
  Dispatcher& d = make(10, ms{50}, &steady_);
  auto slot = add_ahead_slot(1);
  d.on_slot_free(slot);
  auto s1 = new_sink(), s2 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(pending("/2", s2));
  ASSERT_EQ(slot->ahead_state(), WorkerSlot::AheadState::Written);
  EXPECT_EQ(d.queue_length(), 1u);
  ASSERT_TRUE(run_until(io_, [&] { return s2->finished(); }));
  expect_503(*s2, "timed out waiting for a worker");
  EXPECT_EQ(d.stats().rejected_timeout, 1u);
  EXPECT_EQ(d.stats().ahead_withdrawn, 1u);
  EXPECT_EQ(d.queue_length(), 0u);
  EXPECT_EQ(slot->ahead_state(), WorkerSlot::AheadState::Withdrawn);

  auto& w = worker_of(slot);
  ASSERT_TRUE(w.await_request(io_));
  ASSERT_TRUE(w.await_request(io_));
  ASSERT_TRUE(w.await_client_gone(io_));
  w.respond("200 OK", "1");
  w.send(supervisor::FrameType::ResponseEnd, "");  // /2 skipped
  ASSERT_TRUE(run_until(io_, [&] { return d.free_slots() == 1u; }));
  EXPECT_EQ(s1->body_text, "1");
  EXPECT_EQ(s2->finishes, 1);  // answered once, by the 503
  EXPECT_EQ(slot->state(), WorkerSlot::State::Idle);
}

// A request queued ahead on a slot that stays busy goes to another slot that
// frees up (once it has waited kAheadStealAfter there), instead of waiting for
// the busy one; the busy worker is told to skip it.
TEST_F(DispatcherTest, ARequestQueuedAheadMovesToASlotThatFreesUp) {
  Dispatcher& d = make(10, ms{5000}, &steady_);
  auto a = add_ahead_slot(1);
  auto b = add_ahead_slot(2);
  d.on_slot_free(a);
  d.on_slot_free(b);
  auto s1 = new_sink(), s2 = new_sink(), s3 = new_sink();
  d.submit(pending("/1", s1));
  d.submit(pending("/2", s2));
  d.submit(pending("/3", s3));  // both busy: queued, then ahead on one of them
  auto busy = a->ahead_state() == WorkerSlot::AheadState::Written ? a : b;
  auto frees = busy == a ? b : a;
  ASSERT_EQ(busy->ahead_state(), WorkerSlot::AheadState::Written);
  auto& wb = worker_of(busy);
  auto& wf = worker_of(frees);
  auto own = wb.await_request(io_);
  ASSERT_TRUE(own);
  ASSERT_TRUE(wf.await_request(io_));
  wf.respond("200 OK", "f");  // `frees` is free now; /3 still waits behind `busy`
  auto moved = wf.await_request(io_);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->environ, "PATH_INFO\0/3"s);
  EXPECT_EQ(d.stats().ahead_withdrawn, 1u);
  EXPECT_EQ(d.queue_length(), 0u);
  wf.respond("200 OK", "3 from the free slot");
  ASSERT_TRUE(run_until(io_, [&] { return s3->finished(); }));
  EXPECT_EQ(s3->body_text, "3 from the free slot");

  auto behind = wb.await_request(io_);  // still in the busy worker's socket...
  ASSERT_TRUE(behind);
  EXPECT_EQ(behind->environ, "PATH_INFO\0/3"s);
  ASSERT_TRUE(wb.await_client_gone(io_));
  wb.respond("200 OK", "b");
  wb.send(supervisor::FrameType::ResponseEnd, "");
  ASSERT_TRUE(run_until(io_, [&] { return d.free_slots() == 2u; }));
  EXPECT_EQ(s3->finishes, 1);
  EXPECT_EQ(d.stats().dispatched, 4u);  // /1, /2, /3 ahead, /3 again
}

// A request stuck ahead on a slot whose worker does not get on (descheduled, slow)
// moves to the next busy slot that asks for one, ahead of the queue (it is older).
TEST_F(DispatcherTest, ARequestStuckAheadMovesToTheNextSlotThatAsks) {
  Dispatcher& d = make(10, ms{5000}, &steady_);
  auto a = add_ahead_slot(1);
  auto b = add_ahead_slot(2);
  d.on_slot_free(a);
  d.on_slot_free(b);
  std::vector<std::shared_ptr<RecordingSink>> s;
  for (int i = 0; i < 5; ++i) s.push_back(new_sink());
  for (int i = 0; i < 5; ++i) d.submit(pending("/" + std::to_string(i + 1), s[i]));
  // /1 and /2 run; /3 and /4 went ahead (one per slot); /5 waits in the queue.
  ASSERT_EQ(a->ahead_state(), WorkerSlot::AheadState::Written);
  ASSERT_EQ(b->ahead_state(), WorkerSlot::AheadState::Written);
  EXPECT_EQ(d.queue_length(), 3u);
  auto& wa = worker_of(a);
  auto& wb = worker_of(b);
  auto a1 = wa.await_request(io_), a2 = wa.await_request(io_);
  auto b1 = wb.await_request(io_), b2 = wb.await_request(io_);
  ASSERT_TRUE(a1 && a2 && b1 && b2);
  // Which slot got the oldest one ahead: that worker stays stuck.
  const bool a_first = a2->environ < b2->environ;
  auto& stuck = a_first ? wa : wb;
  auto& moving = a_first ? wb : wa;
  const std::string oldest = a_first ? a2->environ : b2->environ;
  run_for(io_, ms{3});  // > kAheadStealAfter
  moving.respond("200 OK", "x");  // its request ahead starts; it asks for the next: the stuck one
  auto moved = moving.await_request(io_);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->environ, oldest);
  EXPECT_EQ(d.stats().ahead_withdrawn, 1u);
  ASSERT_TRUE(stuck.await_client_gone(io_));
  EXPECT_EQ(d.queue_length(), 2u);  // the moved one (ahead again) and /5
  moving.respond("200 OK", "y");  // the one it had ahead
  moving.respond("200 OK", "moved");
  stuck.respond("200 OK", "stuck");
  stuck.send(supervisor::FrameType::ResponseEnd, "");  // the withdrawn one, skipped
  ASSERT_TRUE(run_until(io_, [&] {
    for (auto& sk : s)
      if (!sk->finished()) {
        if (auto r = moving.take_request()) moving.respond("200 OK", "late");
        if (auto r = stuck.take_request()) stuck.respond("200 OK", "late");
        return false;
      }
    return true;
  }));
  const int moved_index = oldest.back() - '1';
  EXPECT_EQ(s[moved_index]->body_text, "moved");
  EXPECT_EQ(s[moved_index]->finishes, 1);
}

}  // namespace
}  // namespace hearth::proxy

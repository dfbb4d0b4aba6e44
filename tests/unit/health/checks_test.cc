// HealthChecker, InternalKeepwarm and Admission over the slot harness: fake
// workers on socketpairs answer the internal requests; a fake worker list and
// slot lender stand in for the pool and the dispatcher (health/worker_access.h).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../supervisor/slot_harness.h"
#include "health/admission.h"
#include "health/health_checker.h"
#include "health/internal_keepwarm.h"

namespace hearth::health {
namespace {

using namespace std::chrono_literals;
using testing::RecordingOwner;
using testing::SlotPair;
using testing::run_until;

// Ready workers by id, each with one slot to a fake worker; records ejections.
class FakePool final : public WorkerList, public SlotLender {
 public:
  explicit FakePool(boost::asio::io_context& io) : io_(io) {}
  ~FakePool() override {
    for (auto& [id, p] : pairs_) p.shutdown(io_);
  }
  testing::FakeWorker& add(int id) {
    pairs_.emplace(id, SlotPair::make(io_, &owner_, id, 0));
    ready_.push_back(id);
    return *pairs_.at(id).worker;
  }
  std::vector<int> ready_workers() const override { return ready_; }
  bool eject(int id, const std::string& why) override {
    ejected.emplace_back(id, why);
    return allow_eject;
  }
  std::shared_ptr<supervisor::WorkerSlot> borrow_slot(int id) override {
    ++borrows[id];
    if (busy.count(id)) return nullptr;
    auto it = pairs_.find(id);
    if (it == pairs_.end() || it->second.slot->state() != supervisor::WorkerSlot::State::Idle) return nullptr;
    return it->second.slot;
  }
  supervisor::WorkerSlot& slot(int id) { return *pairs_.at(id).slot; }
  void remove(int id) { std::erase(ready_, id); }

  std::vector<std::pair<int, std::string>> ejected;
  std::map<int, int> borrows;
  std::set<int> busy;  // ids whose slot is "serving a user": nothing to lend
  bool allow_eject = true;

 private:
  boost::asio::io_context& io_;
  RecordingOwner owner_;
  std::map<int, SlotPair> pairs_;
  std::vector<int> ready_;
};

// Answers every request that has arrived on `w` with `status`; returns how many.
int answer_all(testing::FakeWorker& w, const std::string& status) {
  int n = 0;
  while (auto r = w.take_request()) {
    w.respond(status, "ok");
    ++n;
  }
  return n;
}

std::string path_of(const testing::ReceivedRequest& r) {
  const std::string key = std::string("PATH_INFO") + '\0';
  auto at = r.environ.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return r.environ.substr(at, r.environ.find('\0', at) - at);
}

// --- HealthChecker ----------------------------------------------------------

class HealthCheckerTest : public ::testing::Test {
 protected:
  HealthChecker make(uint32_t unhealthy = 2) {
    config::HealthConfig cfg;
    cfg.path = "/healthz";
    cfg.interval = 20ms;
    cfg.timeout = 1000ms;
    cfg.unhealthy_threshold = unhealthy;
    return HealthChecker(io_, cfg, proxy::EnvironOptions{}, pool_, pool_);
  }
  boost::asio::io_context io_;
  std::shared_ptr<FakePool> pool_ = std::make_shared<FakePool>(io_);
};

TEST_F(HealthCheckerTest, ChecksEveryReadyWorkerAtItsPath) {
  auto& a = pool_->add(1);
  auto& b = pool_->add(2);
  auto checker = make();
  checker.start();
  auto ra = a.await_request(io_);
  auto rb = b.await_request(io_);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(path_of(*ra), "/healthz");
  EXPECT_EQ(path_of(*rb), "/healthz");
  a.respond("200 OK", "ok");
  b.respond("200 OK", "ok");
  EXPECT_TRUE(run_until(io_, [&] { return checker.checks_ok() >= 2; }));
  EXPECT_EQ(checker.checks_failed(), 0u);
  EXPECT_TRUE(pool_->ejected.empty());
  checker.stop();
}

TEST_F(HealthCheckerTest, EjectsAfterUnhealthyThresholdFailuresInARow) {
  auto& a = pool_->add(7);
  auto checker = make(/*unhealthy=*/2);
  checker.start();
  // Failures, answered as they come, until the checker gives up on the worker.
  EXPECT_TRUE(run_until(io_, [&] {
    answer_all(a, "500 Internal Server Error");
    return !pool_->ejected.empty();
  }));
  EXPECT_EQ(pool_->ejected.front().first, 7);
  EXPECT_NE(pool_->ejected.front().second.find("failed 2 health checks"), std::string::npos);
  EXPECT_EQ(checker.checks_failed(), 2u);
  EXPECT_EQ(checker.ejections(), 1u);
  checker.stop();
}

TEST_F(HealthCheckerTest, AnEjectionThePoolRefusesIsNotCounted) {
  auto& a = pool_->add(3);
  pool_->allow_eject = false;
  auto checker = make(/*unhealthy=*/1);
  checker.start();
  EXPECT_TRUE(run_until(io_, [&] {
    answer_all(a, "503 Busy");
    return !pool_->ejected.empty();
  }));
  EXPECT_EQ(checker.ejections(), 0u);
  checker.stop();
}

TEST_F(HealthCheckerTest, ABusyWorkerIsSkippedAndCheckedNextRound) {
  auto& a = pool_->add(4);
  pool_->busy.insert(4);
  auto checker = make();
  checker.start();
  EXPECT_TRUE(run_until(io_, [&] { return pool_->borrows[4] >= 2; }));  // asked twice, lent nothing
  EXPECT_FALSE(a.take_request().has_value());
  pool_->busy.clear();
  auto r = a.await_request(io_);
  ASSERT_TRUE(r);
  a.respond("200 OK", "ok");
  EXPECT_TRUE(run_until(io_, [&] { return checker.checks_ok() == 1; }));
  checker.stop();
}

TEST_F(HealthCheckerTest, NoPathNoChecks) {
  pool_->add(1);
  config::HealthConfig cfg;  // path ""
  cfg.interval = 5ms;
  HealthChecker checker(io_, cfg, proxy::EnvironOptions{}, pool_, pool_);
  checker.start();
  testing::run_for(io_, 60ms);
  EXPECT_TRUE(pool_->borrows.empty());
}

// --- InternalKeepwarm -------------------------------------------------------

class KeepwarmTest : public ::testing::Test {
 protected:
  std::unique_ptr<InternalKeepwarm> make(std::chrono::milliseconds interval) {
    config::WarmupRequest req;
    req.path = "/warm";
    return std::make_unique<InternalKeepwarm>(io_, interval, req, proxy::EnvironOptions{}, 1000ms, pool_, pool_,
                                              [this] { return last_user_; });
  }
  boost::asio::io_context io_;
  std::shared_ptr<FakePool> pool_ = std::make_shared<FakePool>(io_);
  TimePoint last_user_{};
};

TEST_F(KeepwarmTest, IdleLongEnoughWarmsEveryReadyWorker) {
  auto& a = pool_->add(1);
  auto& b = pool_->add(2);
  auto kw = make(30ms);
  kw->start();
  auto ra = a.await_request(io_);
  auto rb = b.await_request(io_);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(path_of(*ra), "/warm");
  a.respond("200 OK", "ok");
  b.respond("500 Oops", "no");
  EXPECT_TRUE(run_until(io_, [&] { return kw->pings_ok() == 1 && kw->pings_failed() == 1; }));
  kw->stop();
}

TEST_F(KeepwarmTest, RecentUserTrafficMeansNoWarmup) {
  auto& a = pool_->add(1);
  auto kw = make(200ms);
  last_user_ = Clock::now() + std::chrono::hours(1);  // "just now", for the whole test
  kw->start();
  testing::run_for(io_, 300ms);  // more than one interval: the idle period never elapses
  EXPECT_FALSE(a.take_request().has_value());
  EXPECT_TRUE(pool_->borrows.empty());
  kw->stop();
}

// --- Admission --------------------------------------------------------------

class FakeTarget final : public AdmissionTarget {
 public:
  FakeTarget(int id, supervisor::WorkerSlot* slot) : id_(id), slot_(slot) {}
  int id() const override { return id_; }
  bool alive() const override { return alive_; }
  supervisor::WorkerSlot* channel() override { return slot_; }
  int id_;
  supervisor::WorkerSlot* slot_;
  bool alive_ = true;
};

class AdmissionTest : public ::testing::Test {
 protected:
  Admission make(std::vector<std::string> warmups, std::string health_path) {
    auto cfg = std::make_shared<config::Config>();
    for (auto& p : warmups) {
      config::WarmupRequest r;
      r.path = p;
      cfg->warmup.requests.push_back(r);
    }
    cfg->health.path = std::move(health_path);
    cfg->timeout = 1000ms;
    cfg->health.timeout = 1000ms;
    return Admission(io_, cfg, proxy::EnvironOptions{});
  }
  boost::asio::io_context io_;
  std::shared_ptr<FakePool> pool_ = std::make_shared<FakePool>(io_);
  std::optional<std::pair<bool, std::string>> result_;
  Admission::Done done() {
    return [this](bool ok, std::string why) { result_.emplace(ok, std::move(why)); };
  }
};

TEST_F(AdmissionTest, WarmupsInOrderThenTheHealthCheck) {
  auto& w = pool_->add(5);
  auto adm = make({"/one", "/two"}, "/healthz");
  adm.admit(std::make_shared<FakeTarget>(5, &pool_->slot(5)), done());
  std::vector<std::string> paths;
  EXPECT_TRUE(run_until(io_, [&] {
    while (auto r = w.take_request()) {
      paths.push_back(path_of(*r));
      w.respond("200 OK", "ok");
    }
    return result_.has_value();
  }));
  EXPECT_EQ(paths, (std::vector<std::string>{"/one", "/two", "/healthz"}));
  EXPECT_TRUE(result_->first) << result_->second;
  EXPECT_EQ(adm.warmups_ok(), 1u);
}

TEST_F(AdmissionTest, AFailedWarmupIsAFailedAdmission) {
  auto& w = pool_->add(5);
  auto adm = make({"/one", "/two"}, "");
  adm.admit(std::make_shared<FakeTarget>(5, &pool_->slot(5)), done());
  auto r = w.await_request(io_);
  ASSERT_TRUE(r);
  w.respond("500 Internal Server Error", "no");
  EXPECT_TRUE(run_until(io_, [&] { return result_.has_value(); }));
  EXPECT_FALSE(result_->first);
  EXPECT_NE(result_->second.find("warmup request GET /one"), std::string::npos) << result_->second;
  EXPECT_FALSE(w.take_request().has_value());  // /two never sent
  EXPECT_EQ(adm.warmups_failed(), 1u);
}

TEST_F(AdmissionTest, NoChannelFailsAtOnce) {
  auto adm = make({"/one"}, "");
  adm.admit(std::make_shared<FakeTarget>(9, nullptr), done());
  ASSERT_TRUE(result_.has_value());
  EXPECT_FALSE(result_->first);
  EXPECT_EQ(result_->second, "the worker's channel is not usable");
}

TEST_F(AdmissionTest, AWorkerThatGoesAwayIsDroppedSilently) {
  auto& w = pool_->add(5);
  auto adm = make({"/one"}, "");
  auto target = std::make_shared<FakeTarget>(5, &pool_->slot(5));
  adm.admit(target, done());
  auto r = w.await_request(io_);
  ASSERT_TRUE(r);
  target->alive_ = false;
  w.respond("200 OK", "ok");
  testing::run_for(io_, 50ms);
  EXPECT_FALSE(result_.has_value());
}

TEST_F(AdmissionTest, NothingToDoAdmitsAtOnce) {
  auto adm = make({}, "");
  adm.admit(std::make_shared<FakeTarget>(1, nullptr), done());
  ASSERT_TRUE(result_.has_value());
  EXPECT_TRUE(result_->first);
}

}  // namespace
}  // namespace hearth::health

// The `hearthctl status` document (app/status_json.h): every field hearthctl
// and the integration tests read, with totals summed the documented way.
#include "app/status_json.h"

#include <gtest/gtest.h>

#include "control/json.h"

namespace hearth::app {
namespace {

using control::array_at;
using control::flag;
using control::num;
using control::object_at;
using control::str;

supervisor::Pool::Status two_workers() {
  supervisor::Pool::Status st{};
  st.phase = "running";
  st.reload = "none";
  st.generation = 2;
  st.zygote_pid = 100;
  st.zygote_state = "ready";
  st.zygote_memory = supervisor::MemoryUsage{50, 20, 5, 0};
  st.desired = 2;
  st.effective = 2;
  st.ready = 2;
  st.restarts = 1;
  supervisor::Pool::WorkerInfo w{};
  w.id = 1;
  w.pid = 101;
  w.generation = 2;
  w.state = "ready";
  w.requests = 7;
  w.age_s = 1.5;
  w.slots = 2;
  w.busy_slots = 1;
  w.current_request = "GET /\"quoted\"";
  w.current_ms = 12;
  w.in_flight = {{"GET /\"quoted\"", 12}};
  w.memory = supervisor::MemoryUsage{40, 10, 4, 0};
  w.recycle = "";
  st.workers.push_back(w);
  w.id = 2;
  w.pid = 102;
  w.in_flight.clear();
  w.current_request.clear();
  w.memory = supervisor::MemoryUsage{30, 8, 3, 0};
  w.recycle = "max_requests";
  st.workers.push_back(w);
  return st;
}

TEST(StatusJson, EveryFieldHearthctlReads) {
  StatusContext ctx{"1.2.3", 4242, "app:wsgi", true, 3, 9.5};
  auto v = control::parse_object(status_json(two_workers(), ctx));
  ASSERT_TRUE(v);
  EXPECT_TRUE(flag(*v, "ok"));
  EXPECT_EQ(str(*v, "version"), "1.2.3");
  EXPECT_EQ(num(*v, "pid"), 4242);
  EXPECT_EQ(str(*v, "app"), "app:wsgi");
  EXPECT_EQ(str(*v, "phase"), "running");
  EXPECT_EQ(num(*v, "generation"), 2);
  ASSERT_NE(object_at(*v, "zygote"), nullptr);
  EXPECT_EQ(num(*object_at(*v, "zygote"), "pid"), 100);
  EXPECT_EQ(str(*object_at(*v, "zygote"), "state"), "ready");
  EXPECT_TRUE(flag(*v, "preload", false));
  EXPECT_EQ(num(*v, "desired_workers"), 2);
  EXPECT_EQ(num(*v, "ready_workers"), 2);
  EXPECT_EQ(num(*v, "restarts"), 1);
  EXPECT_FALSE(flag(*v, "crash_loop", true));
  EXPECT_EQ(num(*v, "queue_length"), 3);
  EXPECT_DOUBLE_EQ(num(*v, "uptime_s"), 9.5);
  EXPECT_EQ(str(*v, "reload"), "none");
  EXPECT_EQ(num(*v, "effective_workers"), 2);
  EXPECT_FALSE(v->contains("memory_budget_bytes"));  // only with a budget
  EXPECT_FALSE(v->contains("memory_budget_cap"));

  const boost::json::array* workers = array_at(*v, "workers");
  ASSERT_NE(workers, nullptr);
  ASSERT_EQ(workers->size(), 2u);
  const auto& w1 = (*workers)[0].as_object();
  EXPECT_EQ(num(w1, "id"), 1);
  EXPECT_EQ(num(w1, "pid"), 101);
  EXPECT_EQ(num(w1, "requests"), 7);
  EXPECT_DOUBLE_EQ(num(w1, "age_s"), 1.5);
  EXPECT_EQ(num(w1, "busy_slots"), 1);
  EXPECT_EQ(num(w1, "slots"), 2);
  EXPECT_EQ(num(w1, "websockets"), 0);
  EXPECT_EQ(str(w1, "current_request"), "GET /\"quoted\"");
  EXPECT_EQ(num(w1, "rss_bytes"), 40);
  EXPECT_EQ(num(w1, "pss_bytes"), 10);
  EXPECT_EQ(num(w1, "uss_bytes"), 4);
  ASSERT_NE(array_at(w1, "in_flight"), nullptr);
  ASSERT_EQ(array_at(w1, "in_flight")->size(), 1u);
  EXPECT_EQ(num((*array_at(w1, "in_flight"))[0].as_object(), "ms"), 12);
  EXPECT_EQ(str((*workers)[1].as_object(), "recycle"), "max_requests");

  // PSS summed over the zygote and the workers; USS over the workers only.
  const boost::json::object* mem = object_at(*v, "memory");
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(num(*mem, "total_pss_bytes"), 20 + 10 + 8);
  EXPECT_EQ(num(*mem, "total_rss_bytes"), 50 + 40 + 30);
  EXPECT_EQ(num(*mem, "workers_uss_bytes"), 4 + 3);
  ASSERT_NE(object_at(*v, "zygote_memory"), nullptr);
  EXPECT_EQ(num(*object_at(*v, "zygote_memory"), "pss_bytes"), 20);
}

TEST(StatusJson, MemoryBudgetFieldsOnlyWithABudget) {
  auto st = two_workers();
  st.memory_budget = 1 << 20;
  st.app_pss = 900000;
  st.budget_cap = 1;
  st.budget_unmet = true;
  auto v = control::parse_object(status_json(st, StatusContext{}));
  ASSERT_TRUE(v);
  EXPECT_EQ(num(*v, "memory_budget_bytes"), 1 << 20);
  EXPECT_EQ(num(*v, "app_pss_bytes"), 900000);
  EXPECT_EQ(num(*v, "memory_budget_cap"), 1);
  EXPECT_TRUE(flag(*v, "memory_budget_exceeded"));
}

}  // namespace
}  // namespace hearth::app

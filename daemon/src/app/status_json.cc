#include "app/status_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace hearth::app {
namespace {

namespace json = boost::json;

json::string_view sv(std::string_view s) { return json::string_view(s.data(), s.size()); }
// The pool's state names are C strings; a null one is written as "".
json::string_view sv(const char* s) { return s ? json::string_view(s) : json::string_view(); }

void add_memory(json::object& o, const supervisor::MemoryUsage& m) {
  o["rss_bytes"] = m.rss;
  o["pss_bytes"] = m.pss;
  o["uss_bytes"] = m.uss;
}

}  // namespace

std::string status_json(const supervisor::Pool::Status& st, const StatusContext& ctx) {
  json::object o;
  o["ok"] = true;
  o["version"] = sv(ctx.version);
  o["pid"] = ctx.pid;
  o["app"] = sv(ctx.app);
  o["phase"] = sv(st.phase);
  o["generation"] = st.generation;
  o["zygote"] = json::object{{"pid", st.zygote_pid}, {"state", sv(st.zygote_state)}};
  o["preload"] = ctx.preload;
  o["desired_workers"] = st.desired;
  o["ready_workers"] = st.ready;
  o["restarts"] = st.restarts;
  o["crash_loop"] = st.crash_loop;
  o["queue_length"] = ctx.queue_length;
  o["uptime_s"] = ctx.uptime_s;
  if (!ctx.name.empty()) {
    o["name"] = sv(ctx.name);
    o["state"] = sv(ctx.state);
  }
  uint64_t total_pss = 0, total_uss = 0, total_rss = 0;
  json::array workers;
  for (const auto& w : st.workers) {
    json::object wo;
    wo["id"] = w.id;
    wo["pid"] = w.pid;
    wo["generation"] = w.generation;
    wo["state"] = sv(w.state);
    wo["requests"] = w.requests;
    wo["age_s"] = w.age_s;
    wo["boot_ms"] = w.boot_ms;
    wo["warmup_ms"] = w.warmup_ms;
    wo["busy_slots"] = w.busy_slots;
    wo["slots"] = w.slots;
    wo["websockets"] = w.websockets;
    wo["current_request"] = w.current_request;
    wo["current_ms"] = w.current_ms;
    wo["recycle"] = sv(w.recycle);
    json::array flights;
    for (const auto& f : w.in_flight) flights.push_back(json::object{{"request", f.request}, {"ms", f.ms}});
    wo["in_flight"] = std::move(flights);
    if (w.memory) {
      add_memory(wo, *w.memory);
      total_pss += w.memory->pss;
      total_uss += w.memory->uss;
      total_rss += w.memory->rss;
    }
    workers.push_back(std::move(wo));
  }
  o["workers"] = std::move(workers);
  if (st.zygote_memory) {
    json::object zm;
    add_memory(zm, *st.zygote_memory);
    o["zygote_memory"] = std::move(zm);
    total_pss += st.zygote_memory->pss;
    total_rss += st.zygote_memory->rss;
  }
  // The app's real total is the sum of PSS; summing RSS counts shared pages once per process.
  o["memory"] = json::object{
      {"total_pss_bytes", total_pss}, {"total_rss_bytes", total_rss}, {"workers_uss_bytes", total_uss}};
  o["reload"] = sv(st.reload);
  o["effective_workers"] = st.effective;
  if (st.budget_cap) o["memory_budget_cap"] = *st.budget_cap;
  if (st.memory_budget > 0) {
    o["memory_budget_bytes"] = st.memory_budget;
    o["app_pss_bytes"] = st.app_pss;
    o["memory_budget_exceeded"] = st.budget_unmet;
  }
  return json::serialize(o);
}

std::string apps_status_json(const std::vector<std::string>& documents, const std::vector<std::string>& upstreams) {
  json::array apps;
  for (const auto& d : documents) apps.push_back(json::parse(d));
  json::object o;
  o["ok"] = true;
  o["apps"] = std::move(apps);
  if (!upstreams.empty()) {
    json::array ups;
    for (const auto& d : upstreams) ups.push_back(json::parse(d));
    o["upstreams"] = std::move(ups);
  }
  return json::serialize(o);
}

std::string ok_document(const std::string& doc) {
  json::value v = json::parse(doc);
  json::object o;
  o["ok"] = true;
  for (auto& [k, val] : v.as_object()) o[k] = val;
  return json::serialize(o);
}

}  // namespace hearth::app

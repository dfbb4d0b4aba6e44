#include "ctl/status_format.h"

#include <boost/json/serialize.hpp>
#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "control/json.h"

namespace hearth::ctl {
namespace {

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// A JSON object of the answer, or none (a missing or mistyped part):
// every getter then gives its default, so the table still prints.
struct Reader {
  const boost::json::object* o = nullptr;
  explicit operator bool() const { return o != nullptr; }
  double num(std::string_view k, double dflt = 0) const { return o ? control::num(*o, k, dflt) : dflt; }
  std::string str(std::string_view k, const std::string& dflt = "") const {
    return o ? control::str(*o, k, dflt) : dflt;
  }
  bool flag(std::string_view k, bool dflt = false) const { return o ? control::flag(*o, k, dflt) : dflt; }
  bool has(std::string_view k) const { return o && o->contains(k); }
  const boost::json::object* object(std::string_view k) const { return o ? control::object_at(*o, k) : nullptr; }
  const boost::json::array* array(std::string_view k) const { return o ? control::array_at(*o, k) : nullptr; }
};

std::string mib(double bytes) {
  if (bytes < 0) return "-";
  return fmt("%.1f", bytes / (1024.0 * 1024.0));
}

}  // namespace

// One [[upstreams]] entry (its "kind" is "upstream").
std::string format_upstream(const Reader& v, const Paint& paint) {
  std::string out;
  std::string st = v.str("state");
  out += paint.bold("[" + v.str("name") + "]") + "  upstream  " + (st == "running" ? paint.green(st) : paint.red(st)) +
         (v.flag("ready") ? "  ready" : paint.red("  not ready")) + "\n";
  if (v.str("type") == "command") {
    out += fmt("command %s\n", v.str("command").c_str());
    out += fmt("pid %d  generation %d  restarts %d%s", static_cast<int>(v.num("pid", -1)),
               static_cast<int>(v.num("generation")), static_cast<int>(v.num("restarts")),
               v.flag("reloading") ? "  reloading" : "");
    if (v.has("port")) out += fmt("  port %d", static_cast<int>(v.num("port")));
    if (!v.str("socket").empty()) out += "  socket " + v.str("socket");
    out += "\n";
  }
  out += fmt("requests %.0f  in flight %.0f\n", v.num("requests"), v.num("in_flight"));
  if (auto ss = v.array("servers")) {
    for (const auto& item : *ss) {
      const Reader s{item.if_object()};
      std::string h = s.flag("healthy") ? paint.green("healthy") : paint.red("unhealthy");
      out += fmt("  %-28s %s  check %s%s  failures %d\n", s.str("address").c_str(), h.c_str(), s.str("health").c_str(),
                 s.flag("ejected") ? "  ejected" : "", static_cast<int>(s.num("failures")));
    }
  }
  return out;
}

std::string format_status(std::string_view json, const Paint& paint) {
  auto doc = control::parse_object(json);
  if (!doc) return std::string("unreadable answer from hearthd: ") + std::string(json) + "\n";
  const Reader v{&*doc};
  std::string out;
  if (v.str("kind") == "upstream") return format_upstream(v, paint);
  if (auto apps = v.array("apps")) {
    // Several apps ([[apps]]): one block each, then the [[upstreams]].
    for (const auto& item : *apps) {
      if (!out.empty()) out += "\n";
      if (item.is_object()) out += format_status(boost::json::serialize(item.get_object()), paint);
    }
    if (auto ups = v.array("upstreams")) {
      for (const auto& item : *ups) {
        if (!out.empty()) out += "\n";
        if (item.is_object()) out += format_status(boost::json::serialize(item.get_object()), paint);
      }
    }
    return out;
  }
  std::string phase = v.str("phase");
  if (!v.str("name").empty()) {
    std::string st = v.str("state");
    out += paint.bold("[" + v.str("name") + "]") + "  " + (st == "running" ? paint.green(st) : paint.red(st)) + "\n";
  }
  out += fmt("hearthd %s  pid %d  app %s  phase %s  uptime %.0fs\n", v.str("version").c_str(),
             static_cast<int>(v.num("pid")), paint.bold(v.str("app")).c_str(),
             (phase == "running" ? paint.green(phase) : paint.yellow(phase)).c_str(), v.num("uptime_s"));
  const Reader z{v.object("zygote")};
  out += fmt("generation %d  zygote pid %d (%s)  %s  workers %d/%d ready  queue %d  restarts %d%s\n",
             static_cast<int>(v.num("generation")), z ? static_cast<int>(z.num("pid")) : -1,
             z ? z.str("state").c_str() : "?", v.flag("preload") ? "preload" : "lazy",
             static_cast<int>(v.num("ready_workers")), static_cast<int>(v.num("desired_workers")),
             static_cast<int>(v.num("queue_length")), static_cast<int>(v.num("restarts")),
             v.flag("crash_loop") ? paint.red("  CRASH LOOP").c_str() : "");
  out += "\n";
  // WS: the worker's open WebSockets (each also holds one of its busy slots); "-" from a daemon
  // whose status has no such count.
  out += paint.bold(fmt("%-4s %-8s %-4s %-9s %5s %3s %9s %8s %8s %8s %8s  %s", "ID", "PID", "GEN", "STATE", "SLOTS",
                        "WS", "REQUESTS", "AGE", "RSS_MiB", "PSS_MiB", "USS_MiB", "CURRENT")) +
         "\n";
  if (auto ws = v.array("workers")) {
    for (const auto& item : *ws) {
      const Reader w{item.if_object()};
      // Every in-flight request (several with --threads N), longest first.
      std::vector<std::pair<double, std::string>> flights;
      if (auto fl = w.array("in_flight")) {
        for (const auto& item : *fl) {
          const Reader f{item.if_object()};
          flights.emplace_back(f.num("ms"), f.str("request"));
        }
      } else if (!w.str("current_request").empty()) {
        flights.emplace_back(w.num("current_ms"), w.str("current_request"));
      }
      std::sort(flights.begin(), flights.end(), [](auto& a, auto& b) { return a.first > b.first; });
      std::string current = flights.empty() ? "" : fmt("%s (%.1fs)", flights[0].second.c_str(), flights[0].first / 1000.0);
      int busy = static_cast<int>(w.num("busy_slots")), slots = static_cast<int>(w.num("slots"));
      // Padded before it is coloured, so that the escape codes do not shift the columns.
      std::string name = w.str("state");
      if (name == "ready" && busy > 0) name = "busy";
      std::string state = paint.state(name) + std::string(name.size() < 9 ? 9 - name.size() : 0, ' ');
      std::string sockets = w.has("websockets") ? fmt("%d", static_cast<int>(w.num("websockets"))) : "-";
      out += fmt("%-4d %-8d %-4d %s %5s %3s %9.0f %7.0fs %8s %8s %8s  %s\n", static_cast<int>(w.num("id")),
                 static_cast<int>(w.num("pid")), static_cast<int>(w.num("generation")), state.c_str(),
                 fmt("%d/%d", busy, slots).c_str(), sockets.c_str(), w.num("requests"), w.num("age_s"),
                 mib(w.num("rss_bytes", -1)).c_str(), mib(w.num("pss_bytes", -1)).c_str(),
                 mib(w.num("uss_bytes", -1)).c_str(), current.c_str());
      for (size_t i = 1; i < flights.size(); ++i) {
        out += fmt("%*s%s (%.1fs)\n", 86, "", flights[i].second.c_str(), flights[i].first / 1000.0);
      }
    }
  }
  if (const Reader zm{v.object("zygote_memory")}; zm) {
    out += fmt("%-4s %-8d %-4d %-9s %5s %3s %9s %8s %8s %8s %8s\n", "Z", z ? static_cast<int>(z.num("pid")) : -1,
               static_cast<int>(v.num("generation")), "zygote", "-", "-", "-", "-", mib(zm.num("rss_bytes", -1)).c_str(),
               mib(zm.num("pss_bytes", -1)).c_str(), mib(zm.num("uss_bytes", -1)).c_str());
  }
  if (const Reader m{v.object("memory")}; m) {
    double pss = m.num("total_pss_bytes"), rss = m.num("total_rss_bytes");
    if (rss > 0) {
      out += fmt("\nmemory: the app really uses %s MiB (sum of PSS); summing RSS would say %s MiB. "
                 "Copy-on-write sharing saves %.0f%%.\n",
                 mib(pss).c_str(), mib(rss).c_str(), 100.0 * (1.0 - pss / rss));
    }
  }
  if (double budget = v.num("memory_budget_bytes", 0); budget > 0) {
    std::string line = fmt("memory_budget %s MiB: the app uses %s MiB", mib(budget).c_str(),
                           mib(v.num("app_pss_bytes", 0)).c_str());
    if (v.has("memory_budget_cap"))
      line += fmt(", holds %d worker(s)", static_cast<int>(v.num("memory_budget_cap")));
    if (v.flag("memory_budget_exceeded"))
      out += paint.red(line + "; CANNOT BE MET even with one worker (running one)") + "\n";
    else
      out += line + "\n";
  }
  return out;
}

std::string format_message(std::string_view json, const Paint& paint) {
  auto doc = control::parse_object(json);
  if (!doc) return std::string(json);
  const Reader v{&*doc};
  if (v.flag("ok")) {
    std::string m = v.str("message", "ok");
    return m + "\n";
  }
  std::string out = paint.red("error:") + " " + v.str("error", std::string(json)) + "\n";
  std::string tb = v.str("traceback");
  if (!tb.empty()) out += tb + (tb.back() == '\n' ? "" : "\n");
  return out;
}

}  // namespace hearth::ctl

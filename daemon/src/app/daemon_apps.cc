// The Daemon's configuration reload with [[apps]] (daemon.h, docs/several-apps.md
// "Reloading the configuration"): the file is read again as at start-up; what
// changes is planned by plan_app_changes() (app_changes.h) and carried out here.
//
//   1. Read and check the file. Any error: nothing changes, the reply says why.
//   2. Start every Added and Replaced app beside the running ones (not routed).
//   3. Wait until each is ready (or failed, or past its boot_timeout): one
//      that cannot start abandons the whole reload; nothing else has changed.
//   4. Commit: the new apps take their routes, the Removed and Replaced ones
//      leave them, drain and stop (retired_apps_), the Kept ones get the
//      usual rolling reload, one after the other; then the reply.
// [[upstreams]] the same way (plan_upstream_changes): an Added or Replaced
// upstream starts in step 2 (a `command` one must pass its health check in
// step 3; one whose process exits first abandons the reload), takes its route
// in step 4, where the Removed and Replaced ones leave theirs, finish their
// requests in flight (by graceful_timeout) and stop. A Kept upstream is not
// touched (`hearthctl reload NAME` restarts a command upstream blue/green).
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

#include "app/app_changes.h"
#include "app/daemon.h"
#include "app/daemon_builder.h"
#include "common/log.h"
#include "config/loader.h"

namespace hearth::app {

namespace asio = boost::asio;

struct Daemon::AppsReload {
  explicit AppsReload(asio::io_context& io) : deadline(io) {}
  std::shared_ptr<const config::Config> config;  // the file as read now
  std::vector<AppChange> changes;
  std::vector<AppChange> upstream_changes;
  std::vector<std::unique_ptr<AppUnit>> starting;  // Added and Replaced: up, not routed yet
  std::vector<std::shared_ptr<upstream::UpstreamUnit>> starting_upstreams;  // the same
  std::map<std::string, std::string> pythons;      // theirs, resolved
  ReloadDone done;
  asio::steady_timer deadline;  // the longest boot_timeout of the starting apps
  bool finished = false;        // committed or abandoned (a late event is ignored)
};

namespace {

std::string summary(const std::vector<AppChange>& changes, const char* none = "no apps") {
  std::map<AppChange::Kind, std::string> by_kind;
  for (const auto& c : changes) {
    std::string& s = by_kind[c.kind];
    s += (s.empty() ? "" : ", ") + c.name;
  }
  std::string out;
  for (auto k : {AppChange::Kind::Added, AppChange::Kind::Replaced, AppChange::Kind::Removed, AppChange::Kind::Kept}) {
    if (!by_kind.count(k)) continue;
    out += std::string(out.empty() ? "" : "; ") + change_name(k) + " " + by_kind[k];
  }
  return out.empty() ? none : out;
}

}  // namespace

std::unique_ptr<AppUnit> Daemon::make_app_unit(const config::AppConfig& a, bool starting) {
  AppUnit::Shared shared{io_,     clock_,         spawner_,
                         *reaper_, telemetry_.get(), environ_,
                         several_apps(), telemetry_->observer_for(a.name)};
  shared.ledger = ledger_.get();
  AppUnit::FatalFn fatal;
  if (starting) {
    // A new app of a configuration reload that cannot start abandons the reload.
    fatal = [this](AppUnit& u, const std::string& m) {
      HLOG(Error, "app " << u.name() << " (configuration reload): " << m);
      asio::post(io_, [this, name = u.name()] { abandon_apps_reload("app " + name + " cannot start"); });
    };
  } else {
    fatal = [this](AppUnit& u, const std::string& m) { on_app_fatal(u, m); };
  }
  return std::make_unique<AppUnit>(std::move(shared), a, std::move(fatal));
}

std::shared_ptr<upstream::UpstreamUnit> Daemon::make_upstream_unit(const config::UpstreamConfig& uc, bool starting,
                                                                   std::string* err) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  std::function<void()> on_ready = [this] { on_worker_ready_event(); };
  if (starting) {
    on_ready = [this] {
      on_worker_ready_event();
      asio::post(io_, [this] { apps_reload_progress(); });
    };
  }
  upstream::UpstreamUnit::Shared shared{io_,       clock_,    spawner_,          *reaper_, telemetry_->observer_for(uc.name),
                                        std::move(env), temp_dir_, cfg_->http.via, std::move(on_ready)};
  shared.ws_max_message_size = cfg_->http.ws_max_message_size;
  auto u = std::make_shared<upstream::UpstreamUnit>(std::move(shared), uc);
  // A `user` needs root when the process is started (after privileges are dropped).
  if (std::string e = u->prepare(::geteuid() == 0 && cfg_->user.empty()); !e.empty()) {
    *err = e;
    return nullptr;
  }
  return u;
}

std::vector<upstream::UpstreamUnit*> Daemon::all_upstreams() const {
  std::vector<upstream::UpstreamUnit*> out;
  for (const auto& u : upstreams_) out.push_back(u.get());
  if (apps_reload_) {
    for (const auto& u : apps_reload_->starting_upstreams) out.push_back(u.get());
  }
  for (const auto& u : retired_upstreams_) out.push_back(u.get());
  return out;
}

std::vector<AppUnit*> Daemon::all_units() const {
  std::vector<AppUnit*> out;
  for (const auto& a : apps_) out.push_back(a.get());
  if (apps_reload_) {
    for (const auto& a : apps_reload_->starting) out.push_back(a.get());
  }
  for (const auto& a : retired_apps_) out.push_back(a.get());
  return out;
}

void Daemon::reload_config(ReloadDone done) {
  control::ReloadOutcome fail;
  if (apps_reload_) {
    fail.message = "a configuration reload is already in progress";
    return done(fail);
  }
  config::LoadResult loaded = config::load(*config_inputs_);
  if (!loaded.errors.empty()) {
    fail.message = std::to_string(loaded.errors.size()) + " configuration error(s) in " + cfg_->config_file +
                   "; nothing changed";
    for (const auto& e : loaded.errors) fail.detail += e + "\n";
    HLOG(Error, "configuration reload: " << fail.message << "\n" << fail.detail);
    return done(fail);
  }
  if (loaded.config->apps.empty() != cfg_->apps.empty()) {
    fail.message = cfg_->apps.empty() ? "the file has [[apps]] now: going from the single-app form to [[apps]] needs a "
                                        "restart; nothing changed"
                                      : "the file has no [[apps]] now: going to the single-app form needs a restart; "
                                        "nothing changed";
    return done(fail);
  }
  auto r = std::make_shared<AppsReload>(io_);
  r->config = loaded.config;
  std::vector<config::AppConfig> now;
  for (const auto& a : apps_) now.push_back(a->app());
  const std::vector<config::AppConfig> next = config::apps_of(r->config);
  r->changes = plan_app_changes(now, next, [this](const std::string& name) {
    const AppUnit* u = find_app(name);
    return u && u->state() != AppUnit::State::Running;
  });
  std::vector<config::UpstreamConfig> now_upstreams;
  for (const auto& u : upstreams_) now_upstreams.push_back(u->config());
  r->upstream_changes = plan_upstream_changes(now_upstreams, r->config->upstreams);
  r->done = std::move(done);
  HLOG(Info, "configuration reload: " << summary(r->changes) << "; upstreams: "
                                      << summary(r->upstream_changes, "none"));
  // Each new app's interpreter, checked before anything starts.
  std::chrono::milliseconds longest{0};
  for (const auto& a : next) {
    auto c = std::find_if(r->changes.begin(), r->changes.end(), [&](const AppChange& ch) { return ch.name == a.name; });
    if (c->kind != AppChange::Kind::Added && c->kind != AppChange::Kind::Replaced) continue;
    std::string python = resolve_program(a.settings->python, ::getenv("PATH"));
    if (::access(python.c_str(), X_OK) != 0) {
      fail.message = "python interpreter '" + a.settings->python + "' of app " + a.name +
                     " not found or not executable; nothing changed";
      return r->done(fail);
    }
    r->pythons[a.name] = python;
    longest = std::max(longest, a.settings->boot_timeout);
  }
  // Each new upstream, made (and checked: its servers resolve, its user exists) before anything starts.
  for (const auto& ch : r->upstream_changes) {
    if (ch.kind != AppChange::Kind::Added && ch.kind != AppChange::Kind::Replaced) continue;
    const auto& list = r->config->upstreams;
    const config::UpstreamConfig& uc =
        *std::find_if(list.begin(), list.end(), [&](const config::UpstreamConfig& u) { return u.name == ch.name; });
    std::string err;
    auto u = make_upstream_unit(uc, true, &err);
    if (!u) {
      fail.message = "upstream " + uc.name + ": " + err + "; nothing changed";
      return r->done(fail);
    }
    r->starting_upstreams.push_back(std::move(u));
    if (!uc.command.empty()) longest = std::max(longest, uc.boot_timeout);
  }
  apps_reload_ = r;
  for (const auto& a : next) {
    if (!r->pythons.count(a.name)) continue;
    r->starting.push_back(make_app_unit(a, true));
    AppUnit& u = *r->starting.back();
    u.build_supervision(r->pythons[a.name], app_environment(u.settings(), environ), death_pipe_[0], [this] {
      on_worker_ready_event();
      asio::post(io_, [this] { apps_reload_progress(); });
    });
    HLOG(Info, "configuration reload: starting app " << a.name << " (" << u.settings().app << ")");
    u.start();
  }
  for (const auto& u : r->starting_upstreams) {
    HLOG(Info, "configuration reload: starting upstream " << u->name());
    u->start();
  }
  r->deadline.expires_after(longest + std::chrono::seconds(5));
  r->deadline.async_wait([this, r](const boost::system::error_code& ec) {
    if (ec || r->finished || apps_reload_ != r) return;
    abandon_apps_reload("the new apps were not ready within their boot_timeout");
  });
  asio::post(io_, [this] { apps_reload_progress(); });  // nothing to start: commit at once
}

void Daemon::apps_reload_progress() {
  if (!apps_reload_ || apps_reload_->finished) return;
  if (phase_ != Phase::Running) return abandon_apps_reload("the daemon is shutting down");
  for (const auto& u : apps_reload_->starting) {
    if (u->state() != AppUnit::State::Running) return abandon_apps_reload("app " + u->name() + " cannot start");
    if (!u->ready()) return;
  }
  for (const auto& u : apps_reload_->starting_upstreams) {
    if (u->config().command.empty()) continue;  // servers: routed at once, their health checks mark them down
    if (u->state() == upstream::UpstreamUnit::State::Restarting)
      return abandon_apps_reload("upstream " + u->name() + " exited before it was ready");
    if (!u->ready()) return;
  }
  commit_apps_reload();
}

void Daemon::abandon_apps_reload(const std::string& why) {
  auto r = apps_reload_;
  if (!r || r->finished) return;
  r->finished = true;
  r->deadline.cancel();
  for (auto& u : r->starting) {
    u->shutdown(nullptr);
    retired_apps_.push_back(std::move(u));
  }
  r->starting.clear();
  for (auto& u : r->starting_upstreams) {
    u->shutdown(nullptr);
    retired_upstreams_.push_back(std::move(u));
  }
  r->starting_upstreams.clear();
  apps_reload_ = nullptr;
  control::ReloadOutcome out;
  out.message = why + "; nothing changed (the running apps serve as before)";
  HLOG(Error, "configuration reload: " << out.message);
  r->done(out);
}

void Daemon::commit_apps_reload() {
  auto r = apps_reload_;
  r->finished = true;
  r->deadline.cancel();
  // The new list, in the new file's order: kept units and the started ones.
  std::vector<std::unique_ptr<AppUnit>> old = std::move(apps_);
  std::vector<std::string> old_pythons = std::move(pythons_);
  apps_.clear();
  pythons_.clear();
  std::vector<AppUnit*> kept;
  const std::vector<config::AppConfig> next = config::apps_of(r->config);
  for (const auto& a : next) {
    auto mine = std::find_if(r->starting.begin(), r->starting.end(), [&](const auto& u) { return u && u->name() == a.name; });
    if (mine != r->starting.end()) {
      apps_.push_back(std::move(*mine));
      pythons_.push_back(r->pythons[a.name]);
      continue;
    }
    auto it = std::find_if(old.begin(), old.end(), [&](const auto& u) { return u && u->name() == a.name; });
    (*it)->set_hosts(a.hosts);
    kept.push_back(it->get());
    apps_.push_back(std::move(*it));
    pythons_.push_back(old_pythons[static_cast<std::size_t>(it - old.begin())]);
  }
  r->starting.clear();
  // The upstreams the same way: the new file's order, kept units and the started ones.
  std::vector<std::shared_ptr<upstream::UpstreamUnit>> old_upstreams = std::move(upstreams_);
  upstreams_.clear();
  for (const auto& uc : r->config->upstreams) {
    auto by_name = [&](const auto& u) { return u && u->name() == uc.name; };
    auto mine = std::find_if(r->starting_upstreams.begin(), r->starting_upstreams.end(), by_name);
    if (mine != r->starting_upstreams.end()) {
      upstreams_.push_back(std::move(*mine));
      continue;
    }
    auto it = std::find_if(old_upstreams.begin(), old_upstreams.end(), by_name);
    upstreams_.push_back(std::move(*it));
  }
  r->starting_upstreams.clear();
  if (std::string err = rebuild_routes(); !err.empty()) HLOG(Error, "configuration reload: routes: " << err);
  publish_sources();
  // What is left of the old list was removed or replaced: it drains and stops.
  for (auto& u : old) {
    if (!u) continue;
    HLOG(Info, "configuration reload: app " << u->name() << " leaves its route; draining");
    retired_apps_.push_back(std::move(u));
    drain_retired(*retired_apps_.back(), clock_.now() + retired_apps_.back()->settings().graceful_timeout);
  }
  for (auto& u : old_upstreams) {
    if (!u) continue;
    HLOG(Info, "configuration reload: upstream " << u->name() << " leaves its route; draining");
    retired_upstreams_.push_back(u);
    drain_retired(u, clock_.now() + u->config().graceful_timeout);
  }
  std::string changes = summary(r->changes);
  if (!r->upstream_changes.empty()) changes += "; upstreams: " + summary(r->upstream_changes, "none");
  reload_units(kept, [this, r, changes](const supervisor::Pool::ReloadResult& rr) {
    control::ReloadOutcome out{rr.ok, rr.generation, rr.seconds, "apps: " + changes, rr.detail, ""};
    if (rr.message != "no app is running") out.message += "; " + rr.message;
    else out.ok = true;  // nothing was kept: the new apps are the whole reload
    if (apps_reload_ == r) apps_reload_ = nullptr;
    HLOG(Info, "configuration reload: " << out.message);
    on_worker_ready_event();
    r->done(out);
  });
}

void Daemon::drain_retired(AppUnit& u, TimePoint deadline) {
  // The requests already queued for it are served by its workers first (its
  // route is gone, so no new ones come); then its workers stop.
  if (phase_ == Phase::Running && u.dispatcher().queue_length() > 0 && clock_.now() < deadline) {
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
    t->async_wait([this, t, &u, deadline](const boost::system::error_code&) { drain_retired(u, deadline); });
    return;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.now());
  u.shutdown(nullptr, std::max(left, std::chrono::milliseconds(0)));
}

void Daemon::drain_retired(const std::shared_ptr<upstream::UpstreamUnit>& u, TimePoint deadline) {
  // Its route is gone: the requests it still serves end (or the deadline
  // passes), then its health checks and process stop. Its open WebSockets
  // are closed (1001) rather than waited for.
  u->handler().close_websockets();
  if (phase_ == Phase::Running && u->handler().in_flight() > 0 && clock_.now() < deadline) {
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
    t->async_wait([this, t, u, deadline](const boost::system::error_code&) { drain_retired(u, deadline); });
    return;
  }
  if (u->state() != upstream::UpstreamUnit::State::Stopped) u->shutdown(nullptr);
}

std::string Daemon::rebuild_routes() {
  std::vector<routing::RouteSpec> specs;
  std::vector<AppRouter::Target> targets;
  for (const auto& a : apps_) {
    AppUnit* u = a.get();
    specs.push_back(routing::RouteSpec{u->name(), u->app().hosts, u->app().prefix, false});
    targets.push_back(AppRouter::Target{&u->proxy(), [u] {
                                          return u->state() == AppUnit::State::Failed ? AppRouter::Gate::Closed
                                                                                      : AppRouter::Gate::Open;
                                        }});
  }
  for (const auto& up : upstreams_) {  // [[upstreams]]
    const config::UpstreamConfig& uc = up->config();
    specs.push_back(routing::RouteSpec{uc.name, uc.hosts, uc.prefix, uc.strip_prefix});
    targets.push_back(AppRouter::Target{&up->handler(), nullptr});
  }
  auto built = routing::RouteTable::build(std::move(specs));
  if (!built.table) {
    std::string err;
    for (const auto& e : built.errors) err += (err.empty() ? "" : "; ") + e;
    return err;
  }
  if (router_) router_->replace(std::move(*built.table), std::move(targets));
  else router_ = std::make_unique<AppRouter>(std::move(*built.table), std::move(targets), telemetry_.get(), &clock_);
  return "";
}

}  // namespace hearth::app

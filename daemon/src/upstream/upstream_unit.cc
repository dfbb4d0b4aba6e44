#include "upstream/upstream_unit.h"

#include <pwd.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <map>

#include "common/log.h"
#include "upstream/probe.h"

namespace hearth::upstream {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {
UpstreamHandler::Options handler_options(const config::UpstreamConfig& c, bool via, uint64_t ws_max_message_size) {
  UpstreamHandler::Options o;
  o.name = c.name;
  o.prefix = c.prefix;
  o.strip_prefix = c.strip_prefix;
  o.timeout = c.timeout;
  o.connect_timeout = c.connect_timeout;
  o.via = via;
  o.ws_max_message_size = ws_max_message_size;
  return o;
}
constexpr milliseconds kReadyPoll{100};
constexpr milliseconds kCheckTimeout{2000};
const ServerSet::Params kEject{milliseconds(5000)};
}  // namespace

UpstreamUnit::UpstreamUnit(Shared shared, config::UpstreamConfig cfg)
    : shared_(std::move(shared)),
      cfg_(std::move(cfg)),
      handler_(shared_.io, handler_options(cfg_, shared_.via, shared_.ws_max_message_size), shared_.observer, shared_.clock),
      is_command_(!cfg_.command.empty()),
      backoff_(supervisor::Backoff::Params{milliseconds(500), milliseconds(30000), milliseconds(10000), 5}),
      check_timer_(shared_.io) {}

UpstreamUnit::~UpstreamUnit() {
  *alive_ = false;
  for (auto* p : {&current_, &next_}) {
    if (*p) (*p)->kill_now();
  }
  for (auto& p : retiring_) p->kill_now();
}

std::string UpstreamUnit::prepare(bool running_as_root) {
  if (!is_command_) {
    for (const auto& s : cfg_.servers) {
      std::string err;
      auto server = make_server(s, &err);
      if (!server) return "upstream " + cfg_.name + ": " + err;
      servers_.push_back(std::move(*server));
    }
    return "";
  }
  if (!cfg_.user.empty()) {
    if (!running_as_root)
      return "upstream " + cfg_.name + ": `user` needs hearthd to run as root (without a top-level `user`)";
    struct passwd* pw = ::getpwnam(cfg_.user.c_str());
    if (!pw) return "upstream " + cfg_.name + ": no user named '" + cfg_.user + "'";
    uid_ = static_cast<int>(pw->pw_uid);
    gid_ = static_cast<int>(pw->pw_gid);
  }
  return "";
}

void UpstreamUnit::schedule(milliseconds after, std::function<void()> fn) {
  auto t = std::make_shared<asio::steady_timer>(shared_.io, after);
  std::weak_ptr<bool> alive = alive_;
  t->async_wait([t, alive, fn = std::move(fn)](const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (!ec && a && *a) fn();
  });
}

void UpstreamUnit::start() {
  if (!is_command_) {
    state_ = State::Running;
    handler_.set_backend(std::make_shared<Backend>(servers_, kEject));
    HLOG_CTX(Info, cfg_.name, "upstream serving " << (cfg_.prefix.empty() ? "/" : cfg_.prefix) << " from "
                                                   << servers_.size() << " server(s)");
    start_servers_checks();
    if (shared_.on_ready) asio::post(shared_.io, shared_.on_ready);
    return;
  }
  start_current();
  start_servers_checks();  // the running process is checked like a server (status shows it)
}

// ------------------------------------------------------------ active checks (every server, or the process)

void UpstreamUnit::start_servers_checks() {
  check_timer_.expires_after(cfg_.health_interval);
  std::weak_ptr<bool> alive = alive_;
  check_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a || state_ == State::Stopped) return;
    check_all();
    start_servers_checks();
  });
}

void UpstreamUnit::check_all() {
  std::shared_ptr<Backend> b = handler_.backend();
  if (!b) return;
  std::weak_ptr<Backend> weak = b;
  for (std::size_t i = 0; i < b->servers().size(); ++i) {
    probe(shared_.io, b->servers()[i], cfg_.health_path, std::min(cfg_.health_interval, kCheckTimeout),
          [weak, i, name = cfg_.name](bool ok, const std::string& why) {
            auto b = weak.lock();
            if (!b) return;
            auto before = b->set().health(i);
            b->set().set_checked(i, ok ? ServerSet::Health::Up : ServerSet::Health::Down);
            if (!ok && before != ServerSet::Health::Down)
              HLOG_CTX(Warn, name, "server " << b->servers()[i].label << " failed its health check (" << why
                                             << "); out of rotation until one passes");
            else if (ok && before == ServerSet::Health::Down)
              HLOG_CTX(Info, name, "server " << b->servers()[i].label << " passes its health check again");
          });
  }
}

// ------------------------------------------------------------ command: processes

std::shared_ptr<UpstreamProcess> UpstreamUnit::launch(uint32_t gen,
                                                      std::function<void(bool, const std::string&)> ready) {
  UpstreamProcess::Spec spec;
  spec.name = cfg_.name;
  spec.command = cfg_.command;
  std::map<std::string, std::string> vars;
  for (const auto& kv : shared_.env) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const char* k : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                        "LISTEN_FDNAMES", "PORT", "SOCKET"})
    vars.erase(k);
  for (const auto& [k, v] : cfg_.env) vars[k] = v;
  for (const auto& [k, v] : vars) spec.env.push_back(k + "=" + v);
  spec.cwd = cfg_.chdir;
  spec.uid = uid_;
  spec.gid = gid_;
  spec.socket = cfg_.socket;
  spec.socket_dir = shared_.socket_dir;
  spec.generation = gen;
  auto p = std::make_shared<UpstreamProcess>(shared_.io, shared_.spawner, shared_.reaper, std::move(spec));
  auto cb = std::make_shared<std::function<void(bool, const std::string&)>>(std::move(ready));
  std::weak_ptr<UpstreamProcess> weak = p;
  std::weak_ptr<bool> alive = alive_;
  std::string err = p->start([this, weak, alive, cb](const supervisor::ExitStatus& st) {
    auto a = alive.lock();
    if (!a || !*a) return;
    if (*cb) {  // exited before it was ready
      auto f = std::move(*cb);
      *cb = nullptr;
      f(false, "exited before it was ready (" + st.describe() + ")");
    }
    if (auto p = weak.lock(); p && p == current_) on_current_exit(p, st);
  });
  if (!err.empty()) {
    HLOG_CTX(Error, cfg_.name, "cannot start `" << cfg_.command << "`: " << err);
    schedule(milliseconds(0), [cb] {
      if (*cb) {
        auto f = std::move(*cb);
        *cb = nullptr;
        f(false, "could not be started");
      }
    });
    return p;
  }
  poll_ready(p, std::chrono::steady_clock::now() + cfg_.boot_timeout, cb);
  return p;
}

void UpstreamUnit::poll_ready(std::weak_ptr<UpstreamProcess> weak, SteadyTime deadline,
                              std::shared_ptr<std::function<void(bool, const std::string&)>> cb) {
  auto p = weak.lock();
  if (!p || !*cb || state_ == State::Stopped) return;
  if (p->state() != UpstreamProcess::State::Running) return;  // its exit callback answers
  if (std::chrono::steady_clock::now() >= deadline) {
    auto f = std::move(*cb);
    *cb = nullptr;
    f(false, "not ready within boot_timeout (" + std::to_string(cfg_.boot_timeout.count()) + " ms)");
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  probe(shared_.io, p->server(), cfg_.health_path, kCheckTimeout,
        [this, weak, alive, deadline, cb](bool ok, const std::string&) {
          auto a = alive.lock();
          if (!a || !*a || !*cb) return;
          if (ok) {
            auto f = std::move(*cb);
            *cb = nullptr;
            f(true, "");
            return;
          }
          schedule(kReadyPoll, [this, weak, deadline, cb] { poll_ready(weak, deadline, cb); });
        });
}

void UpstreamUnit::use(const std::shared_ptr<UpstreamProcess>& p) {
  handler_.set_backend(std::make_shared<Backend>(std::vector<Server>{p->server()}, kEject));
}

void UpstreamUnit::start_current() {
  if (state_ == State::Stopped) return;
  uint32_t gen = ++generation_;
  current_ready_ = false;
  std::shared_ptr<UpstreamProcess> p = launch(gen, [this, gen](bool ok, const std::string& why) {
    if (state_ == State::Stopped || !current_ || current_->generation() != gen) return;
    if (ok) {
      current_ready_ = true;
      state_ = State::Running;
      use(current_);
      HLOG_CTX(Info, cfg_.name, "ready on " << current_->server().label << " (pid " << current_->pid() << ")");
      if (shared_.on_ready) asio::post(shared_.io, shared_.on_ready);
      return;
    }
    HLOG_CTX(Error, cfg_.name, "generation " << gen << " " << why);
    if (current_->state() == UpstreamProcess::State::Running) {
      // Never ready: stopped, and counted as a failed start by its exit.
      current_->stop(cfg_.graceful_timeout, nullptr);
    } else if (current_->state() == UpstreamProcess::State::Created) {
      on_current_exit(current_, supervisor::ExitStatus{});
    }
  });
  current_ = p;
}

void UpstreamUnit::on_current_exit(const std::shared_ptr<UpstreamProcess>& p, const supervisor::ExitStatus&) {
  if (state_ == State::Stopped || p != current_) return;
  handler_.set_backend(nullptr);  // 503 until the next one is ready
  auto uptime = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - p->started_at());
  milliseconds wait = current_ready_ ? backoff_.on_exit(uptime) : backoff_.on_failed_start();
  current_ready_ = false;
  retiring_.erase(std::remove(retiring_.begin(), retiring_.end(), p), retiring_.end());
  state_ = State::Restarting;
  ++restarts_;
  HLOG_CTX(Warn, cfg_.name, "restarting in " << wait.count() << " ms" << (backoff_.crash_loop() ? " (crash loop)" : ""));
  schedule(wait, [this] { start_current(); });
}

void UpstreamUnit::reload(std::function<void(const ReloadResult&)> done) {
  auto t0 = std::chrono::steady_clock::now();
  auto secs = [t0] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  if (!is_command_) {
    // Nothing to replace: the servers are checked again at once.
    check_all();
    return done(ReloadResult{true, 0, 0.0, "upstream " + cfg_.name + ": servers re-checked (nothing to restart)"});
  }
  if (reload_ != Reload::Idle) return done(ReloadResult{false, generation_, 0.0, "a reload of " + cfg_.name + " is already running"});
  if (state_ == State::Stopped) return done(ReloadResult{false, generation_, 0.0, "upstream " + cfg_.name + " is stopped"});
  reload_ = Reload::Booting;
  uint32_t gen = ++generation_;
  HLOG_CTX(Info, cfg_.name, "reload: starting generation " << gen);
  next_ = launch(gen, [this, gen, done, secs](bool ok, const std::string& why) {
    if (state_ == State::Stopped) return;
    auto n = next_;
    if (!n || n->generation() != gen) return;
    next_.reset();
    if (!ok) {
      reload_ = Reload::Idle;
      HLOG_CTX(Error, cfg_.name, "reload aborted: generation " << gen << " " << why
                                                              << "; the old process keeps serving");
      retiring_.push_back(n);  // kept until it is reaped
      std::weak_ptr<UpstreamProcess> wn = n;
      std::weak_ptr<bool> alive = alive_;
      n->stop(cfg_.graceful_timeout, [this, wn, alive] {
        auto a = alive.lock();
        auto p = wn.lock();
        if (a && *a && p) retiring_.erase(std::remove(retiring_.begin(), retiring_.end(), p), retiring_.end());
      });
      done(ReloadResult{false, gen, secs(), "upstream " + cfg_.name + ": the new process " + why +
                                                "; the old one keeps serving"});
      return;
    }
    // Switch: new requests go to the new process; the old one drains.
    auto old = current_;
    auto old_backend = handler_.backend();
    current_ = n;
    current_ready_ = true;
    state_ = State::Running;
    use(n);
    HLOG_CTX(Info, cfg_.name, "reload: generation " << gen << " ready on " << n->server().label
                                                    << "; draining the old process");
    // Open WebSockets to the old process would hold it until graceful_timeout:
    // they are closed (1001) now, and their clients reconnect to the new one.
    if (old_backend) old_backend->close_tunnels();
    if (old) {
      retiring_.push_back(old);
      reload_ = Reload::Draining;
      drain_then_stop(old_backend, old, std::chrono::steady_clock::now() + cfg_.graceful_timeout);
    } else {
      reload_ = Reload::Idle;
    }
    done(ReloadResult{true, gen, secs(), "upstream " + cfg_.name + " reloaded: generation " + std::to_string(gen) +
                                             " (pid " + std::to_string(n->pid()) + ")"});
  });
}

void UpstreamUnit::drain_then_stop(std::shared_ptr<Backend> old_backend, std::shared_ptr<UpstreamProcess> old,
                                   SteadyTime deadline) {
  bool idle = !old_backend || old_backend->in_flight() == 0;
  if (!idle && std::chrono::steady_clock::now() < deadline && state_ != State::Stopped) {
    schedule(milliseconds(20), [this, old_backend, old, deadline] { drain_then_stop(old_backend, old, deadline); });
    return;
  }
  if (old_backend) old_backend->close_idle();
  auto left = deadline - std::chrono::steady_clock::now();
  auto grace = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(left));
  if (idle) grace = cfg_.graceful_timeout;
  std::weak_ptr<bool> alive = alive_;
  std::weak_ptr<UpstreamProcess> weak_old = old;
  old->stop(grace, [this, alive, weak_old] {
    auto a = alive.lock();
    auto o = weak_old.lock();
    if (!a || !*a) return;
    if (o) retiring_.erase(std::remove(retiring_.begin(), retiring_.end(), o), retiring_.end());
    if (reload_ == Reload::Draining) reload_ = Reload::Idle;
  });
}

void UpstreamUnit::shutdown(std::function<void()> done) {
  state_ = State::Stopped;
  check_timer_.cancel();
  std::vector<std::shared_ptr<UpstreamProcess>> procs = retiring_;
  if (current_) procs.push_back(current_);
  if (next_) procs.push_back(next_);
  auto left = std::make_shared<std::size_t>(procs.size() + 1);
  auto one = [left, done = std::move(done)] {
    if (--*left == 0 && done) done();
  };
  for (auto& p : procs) p->stop(cfg_.graceful_timeout, one);
  one();
}

bool UpstreamUnit::ready() const {
  if (state_ == State::Stopped) return false;
  if (is_command_) return current_ready_;
  auto b = handler_.backend();
  if (!b) return false;
  for (std::size_t i = 0; i < b->servers().size(); ++i) {
    if (b->set().health(i) != ServerSet::Health::Down) return true;
  }
  return false;
}

std::vector<pid_t> UpstreamUnit::pids() const {
  std::vector<pid_t> out;
  auto add = [&out](const std::shared_ptr<UpstreamProcess>& p) {
    if (p && (p->state() == UpstreamProcess::State::Running || p->state() == UpstreamProcess::State::Stopping))
      out.push_back(p->pid());
  };
  add(current_);
  add(next_);
  for (const auto& p : retiring_) add(p);
  return out;
}

namespace {
const char* state_name(UpstreamUnit::State s) {
  switch (s) {
    case UpstreamUnit::State::Starting: return "starting";
    case UpstreamUnit::State::Running: return "running";
    case UpstreamUnit::State::Restarting: return "restarting";
    case UpstreamUnit::State::Stopped: return "stopped";
  }
  return "?";
}
}  // namespace

std::string UpstreamUnit::status_json() const {
  namespace json = boost::json;
  json::object o;
  o["name"] = cfg_.name;
  o["kind"] = "upstream";
  o["type"] = is_command_ ? "command" : "servers";
  o["state"] = state_name(state_);
  o["ready"] = ready();
  o["prefix"] = cfg_.prefix;
  json::array hosts;
  for (const auto& h : cfg_.hosts) hosts.push_back(json::value(h));
  o["hosts"] = std::move(hosts);
  o["requests"] = handler_.requests();
  auto now = shared_.clock.now();
  json::array servers;
  if (auto b = handler_.backend()) {
    o["in_flight"] = b->in_flight();
    for (std::size_t i = 0; i < b->servers().size(); ++i) {
      json::object s;
      s["address"] = b->servers()[i].label;
      auto h = b->set().health(i);
      s["health"] = h == ServerSet::Health::Up ? "up" : h == ServerSet::Health::Down ? "down" : "unknown";
      s["healthy"] = b->set().usable(i, now);
      s["ejected"] = b->set().ejected(i, now);
      s["failures"] = b->set().failures(i);
      s["idle_connections"] = b->idle(i);
      servers.push_back(std::move(s));
    }
  }
  o["servers"] = std::move(servers);
  if (is_command_) {
    o["command"] = cfg_.command;
    o["generation"] = generation_;
    o["restarts"] = restarts_;
    o["reloading"] = reload_ != Reload::Idle;
    if (current_) {
      o["pid"] = current_->pid();
      if (current_->port()) o["port"] = current_->port();
      if (!current_->socket_path().empty()) o["socket"] = current_->socket_path();
    }
  }
  return json::serialize(o);
}

}  // namespace hearth::upstream

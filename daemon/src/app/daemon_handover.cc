// Daemon: the parts that deal with the outside process manager and with other
// hearthd processes: listeners bound or inherited (socket activation, binary
// upgrade), readiness reported to systemd and to an upgrading parent, and the
// hand-over to a new binary (`hearthctl upgrade`). See app/upgrade.h.
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <map>
#include <stdexcept>

#include "app/daemon.h"
#include "app/socket_activation.h"
#include "common/log.h"
#include "config/bind.h"
#include "control/default_socket.h"

extern char** environ;

namespace hearth::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// After the old daemon stops accepting, connections it accepted a moment ago
// get this long to send their request before idle connections are closed.
constexpr milliseconds kHandoverSettle{200};
// How long the new daemon may take beyond boot_timeout.
constexpr milliseconds kUpgradeSlack{30000};

}  // namespace

void Daemon::open_listeners() {
  const config::Config& c = *cfg_;
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::string err;
  auto lenv = parse_listen_env(env, ::getpid(), ::getppid(), &err);
  unset_listen_env();  // the zygote and workers must not see them
  if (!err.empty()) throw std::runtime_error(err);
  std::vector<InheritedSocket> inherited;
  if (lenv) {
    inherited = inspect_inherited(*lenv, &err);
    if (!err.empty()) throw std::runtime_error(err);
    upgrading_from_parent_ = lenv->upgrade;
    upgrade_ready_fd_ = lenv->upgrade_ready_fd;
    if (upgrade_ready_fd_ >= 0) ::fcntl(upgrade_ready_fd_, F_SETFD, FD_CLOEXEC);
    HLOG(Info, (lenv->upgrade ? "upgrade: " : "socket activation: ")
                   << inherited.size() << " inherited listening socket(s)");
  }
  std::string control_path = c.control_socket.empty() ? control::default_socket_path() : c.control_socket;
  ActivationPlan plan = plan_activation(c.binds, c.admin_bind, control_path, inherited);
  for (int i : plan.unused) {
    HLOG(Warn, "inherited socket " << inherited[i].address.text << " (fd " << inherited[i].fd
                                   << (inherited[i].name.empty() ? "" : ", " + inherited[i].name)
                                   << ") matches nothing configured; closing it");
    ::close(inherited[i].fd);
  }
  for (std::size_t b = 0; b < c.binds.size(); ++b) {
    if (plan.app[b] >= 0) http_->adopt(inherited[plan.app[b]].fd, c.tls.enabled());
    else http_->listen(c.binds[b], c.tls.enabled());
  }
  for (int i : plan.extra_app) {
    HLOG(Info, "serving the app on inherited socket " << inherited[i].address.text
                                                      << " too (no configured bind names it)");
    http_->adopt(inherited[i].fd, c.tls.enabled());
  }
  if (admin_) {
    if (plan.admin >= 0) admin_->adopt(inherited[plan.admin].fd);
    else admin_->listen(*c.admin_bind);
    for (const auto& u : admin_->bound_urls()) {
      // "unix:/run/a.sock" -> curl --unix-socket /run/a.sock http://localhost/metrics
      std::string base = u.rfind("unix:", 0) == 0 ? "http://localhost" : u;
      HLOG(Info, "metrics at " << base << "/metrics, health at " << base << "/healthz and " << base << "/readyz"
                               << (base == u ? "" : " (through " + u + ")"));
    }
  }
  if (plan.control >= 0) {
    if (upgrading_from_parent_) {
      pending_control_fd_ = inherited[plan.control].fd;  // the old daemon answers until we serve
      pending_control_path_ = control_path;
    } else {
      control_->adopt(inherited[plan.control].fd, control_path);
    }
  } else if (!c.control_socket.empty()) {
    control_->listen(c.control_socket);
  } else {
    // The default path is shared by every hearthd of this user: a second
    // daemon runs without a control socket rather than not at all.
    try {
      if (std::string e = control::prepare_default_socket_dir(control_path); !e.empty()) throw std::runtime_error(e);
      control_->listen(control_path);
    } catch (const std::exception& e) {
      HLOG(Warn, e.what() << "; hearthctl is unavailable for this daemon (set control_socket)");
    }
  }
}

void Daemon::on_worker_ready_event() {
  if (!serving()) {
    if (notifier_) notifier_->refresh_status();
    return;
  }
  // A new daemon of an upgrade takes over only at full strength (every desired
  // worker ready), so the hand-over never lowers capacity.
  for (const auto& a : apps_) {
    if (upgrading_from_parent_ && a->state() == AppUnit::State::Running &&
        a->pool()->phase() != supervisor::Pool::Phase::Running)
      return;
  }
  if (upgrading_from_parent_) {
    upgrading_from_parent_ = false;
    http_->start();
    if (redirect_) redirect_->start();
    if (admin_) admin_->start();
    if (pending_control_fd_ >= 0) {
      int fd = pending_control_fd_;
      pending_control_fd_ = -1;
      try {
        control_->adopt(fd, pending_control_path_);
      } catch (const std::exception& e) {
        HLOG(Warn, e.what() << "; hearthctl is unavailable for this daemon");
      }
    }
    HLOG(Info, "upgrade: serving; telling the old hearthd (pid " << ::getppid() << ") to drain");
    report_upgrade_ready(upgrade_ready_fd_);
    upgrade_ready_fd_ = -1;
  }
  if (notifier_) notifier_->ready();
}

void Daemon::start_reload(AppUnit* unit, supervisor::Pool::ReloadCallback cb) {
  if (unit) {
    if (notifier_) notifier_->reloading();
    unit->pool()->reload([this, cb = std::move(cb)](const supervisor::Pool::ReloadResult& r) {
      if (notifier_) notifier_->reloaded();
      cb(r);
    });
    return;
  }
  std::vector<AppUnit*> units;
  for (auto& a : apps_) units.push_back(a.get());
  reload_units(std::move(units), std::move(cb));
}

void Daemon::reload_units(std::vector<AppUnit*> all, supervisor::Pool::ReloadCallback cb) {
  // Every running app, one after the other (never two generations of two
  // apps at once: a reload briefly doubles an app's workers). The outcome is
  // the first failure, else the last success; a failed app is skipped.
  if (notifier_) notifier_->reloading();
  std::vector<AppUnit*> units;
  for (AppUnit* a : all) {
    if (a->state() == AppUnit::State::Running) units.push_back(a);
  }
  struct Chain {
    std::vector<AppUnit*> units;
    size_t next = 0;
    supervisor::Pool::ReloadResult result;
    supervisor::Pool::ReloadCallback done;
    bool failed = false;
  };
  auto chain = std::make_shared<Chain>(Chain{std::move(units), 0, {}, std::move(cb), false});
  auto step = std::make_shared<std::function<void()>>();
  *step = [this, chain, step] {
    if (chain->next >= chain->units.size() || phase_ != Phase::Running) {
      if (notifier_) notifier_->reloaded();
      if (chain->units.empty()) chain->result.message = "no app is running";
      auto done = std::move(chain->done);
      auto result = chain->result;
      *step = nullptr;  // breaks the cycle
      done(result);
      return;
    }
    AppUnit* u = chain->units[chain->next++];
    u->pool()->reload([this, chain, step, u](const supervisor::Pool::ReloadResult& r) {
      if (!chain->failed) {
        chain->result = r;
        if (several_apps()) chain->result.message = "app " + u->name() + ": " + r.message;
      }
      if (!r.ok) chain->failed = true;
      asio::post(io_, [step] {
        if (*step) (*step)();
      });
    });
  };
  (*step)();
}

std::string Daemon::service_status() const {
  if (apps_.empty() && upstreams_.empty()) return "starting";
  if (!apps_.empty() && !apps_.front()->pool()) return "starting";
  std::string s = std::string(phase_ == Phase::Running ? (serving() ? "serving" : "starting") : "stopping") + ":";
  for (const auto& a : apps_) {
    auto st = a->pool()->status();
    if (several_apps()) s += std::string(&a == &apps_.front() ? " " : "; ") + a->name();
    s += " " + std::to_string(st.ready) + "/" + std::to_string(st.effective) + " workers ready, generation " +
         std::to_string(st.generation) + ", queue " + std::to_string(a->dispatcher().queue_length());
    if (std::string_view(st.reload) != "none" && *st.reload) s += ", reload " + std::string(st.reload);
  }
  if (!upstreams_.empty()) {
    std::size_t ready = 0;
    for (const auto& u : upstreams_) ready += u->ready() ? 1 : 0;
    s += (apps_.empty() ? " " : "; ") + std::to_string(ready) + "/" + std::to_string(upstreams_.size()) +
         " upstream(s) ready";
  }
  return s;
}

void Daemon::begin_upgrade(control::ControlServer::Reply reply) {
  auto refuse = [&reply](const std::string& why) { reply(control::error_reply(why)); };
  if (phase_ != Phase::Running) return refuse("the daemon is shutting down");
  if (!serving()) return refuse("not ready yet (no worker serves): nothing to hand over");
  std::vector<HandoffSocket> sockets;
  for (int fd : http_->listener_fds()) sockets.push_back({fd, "http"});
  if (admin_) {
    for (int fd : admin_->listener_fds()) sockets.push_back({fd, "admin"});
  }
  if (control_ && control_->native_handle() >= 0) sockets.push_back({control_->native_handle(), "control"});
  std::vector<std::string> argv = self_argv_;
  if (argv.empty()) argv.push_back(self_exe_);
  else argv[0] = self_exe_;
  auto timeout = cfg_->boot_timeout + kUpgradeSlack;
  std::string err = upgrade_->start(argv, sockets, timeout, [this, reply](const BinaryUpgrade::Result& r) {
    reply(control::upgrade_reply(control::UpgradeOutcome{r.ok, ::getpid(), r.new_pid, r.message}));
    if (r.ok) hand_over(r.new_pid);
  });
  if (!err.empty()) refuse("upgrade: " + err);
}

void Daemon::hand_over(pid_t new_pid) {
  if (phase_ != Phase::Running) return;
  HLOG(Info, "upgrade: pid " << new_pid << " serves now; this one stops accepting and drains (graceful_timeout "
                             << cfg_->graceful_timeout.count() << " ms)");
  handed_over_ = true;
  if (notifier_) notifier_->handed_over(new_pid);
  phase_ = Phase::Draining;
  exit_code_ = 0;
  stop_background();
  http_->stop_accepting();
  if (redirect_) redirect_->stop_accepting();
  if (admin_) admin_->stop_accepting();
  if (control_) control_->release();  // the file stays: the new daemon serves it
  drain_deadline_ = std::chrono::steady_clock::now() + cfg_->graceful_timeout;
  drain_timer_.expires_after(kHandoverSettle);
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    http_->close_idle();
    poll_drain();
  });
}

}  // namespace hearth::app

#include "app/app_router.h"

#include "common/ascii.h"
#include "http/request_checks.h"
#include "proxy/environ.h"

namespace hearth::app {

AppRouter::AppRouter(routing::RouteTable table, std::vector<Target> targets, proxy::RequestObserver* observer,
                     const ClockSource* clock)
    : table_(std::move(table)), targets_(std::move(targets)), observer_(clock ? observer : nullptr), clock_(clock) {}

std::shared_ptr<http::ResponseSink> AppRouter::observe(const std::shared_ptr<http::Request>& request,
                                                       std::shared_ptr<http::ResponseSink> sink) {
  if (!observer_) return sink;
  proxy::ObservedSink::Options o;
  o.add_request_id = false;
  return std::make_shared<proxy::ObservedSink>(std::move(sink), request, proxy::request_id_for(*request, "-"),
                                               observer_, *clock_, std::move(o));
}

std::string_view routing_host(const http::Request& req) {
  std::string_view authority = http::absolute_form_authority(req.target);
  if (!authority.empty()) return authority;
  for (const auto& h : req.headers) {
    if (ascii::iequals(h.name, "Host")) return h.value;
  }
  return {};
}

std::optional<std::string> routing_path(const http::Request& req) {
  std::string_view target = req.target;
  std::string_view authority = http::absolute_form_authority(target);
  if (!authority.empty()) {
    std::size_t slash = target.find_first_of("/?", static_cast<std::size_t>(authority.data() - target.data()));
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path.empty()) path = "/";
  if (path.find('%') == std::string_view::npos) return std::string(path);
  return proxy::percent_decode(path);
}

void AppRouter::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  std::string_view host = routing_host(*request);
  auto path = routing_path(*request);
  // A path that does not decode still needs an app to answer 400 with its
  // request id: it is routed by its raw form.
  std::string_view p = path ? std::string_view(*path) : std::string_view(request->target);
  routing::RouteMatch m = table_.lookup(host, p);
  if (!m.found()) {
    sink = observe(request, std::move(sink));
    if (m.miss == routing::RouteMatch::Miss::UnknownHost && !routing::normalize_host(host).empty()) {
      ++misdirected_;
      sink->simple(421, "text/plain", "Misdirected Request: no app serves this host\n");
    } else {
      ++not_found_;
      sink->simple(404, "text/plain", "Not Found\n");
    }
    return;
  }
  const Target& t = targets_[m.index];
  if (t.gate && t.gate() == Gate::Closed) {
    sink = observe(request, std::move(sink));
    sink->simple(503, "text/plain", "Service Unavailable: the app failed to start\n", {{"Retry-After", "5"}});
    return;
  }
  t.handler->handle(std::move(request), std::move(sink));
}

}  // namespace hearth::app

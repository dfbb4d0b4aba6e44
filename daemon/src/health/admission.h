#pragma once
// Admission of a freshly booted worker: its warm-up requests in order, then a
// health check (when health.path is set), all before it takes user traffic.
// A worker that fails any of them is not admitted (a failed boot). Sees the
// worker only through health::AdmissionTarget (health/worker_access.h).
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "health/worker_access.h"
#include "proxy/environ.h"

namespace hearth::health {

class Admission {
 public:
  using Done = std::function<void(bool ok, std::string why)>;
  Admission(boost::asio::io_context& io, std::shared_ptr<const config::Config> cfg, proxy::EnvironOptions env);
  // done(ok, why) once, unless the worker goes away first (then never).
  void admit(std::shared_ptr<AdmissionTarget> worker, Done done);
  uint64_t warmups_ok() const { return ok_; }
  uint64_t warmups_failed() const { return failed_; }

 private:
  void step(std::shared_ptr<AdmissionTarget> worker, std::size_t index, Done done);

  boost::asio::io_context& io_;
  std::shared_ptr<const config::Config> cfg_;
  proxy::EnvironOptions env_;
  uint64_t ok_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace hearth::health

#pragma once
// Closes a SpoolFiles set's free files once they have been unused for its
// idle time (http/spool_files.h), so an idle daemon keeps no spool file. Armed
// by the set's wake (a free file appeared) for the oldest free file's expiry,
// re-armed while free files remain.
// Belongs to the io_context's thread; holds the set weakly (requests may hold
// the set after the server is gone).
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "http/spool_files.h"

namespace hearth::net {

class SpoolFilesTimer final : public std::enable_shared_from_this<SpoolFilesTimer> {
 public:
  // A timer for `files`, set as its wake.
  static std::shared_ptr<SpoolFilesTimer> attach(boost::asio::io_context& io,
                                                 const std::shared_ptr<http::SpoolFiles>& files);
  explicit SpoolFilesTimer(boost::asio::io_context& io) : timer_(io) {}

 private:
  void arm();

  boost::asio::steady_timer timer_;
  std::weak_ptr<http::SpoolFiles> files_;
  bool armed_ = false;
};

}  // namespace hearth::net

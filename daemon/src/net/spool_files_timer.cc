#include "net/spool_files_timer.h"

namespace hearth::net {

std::shared_ptr<SpoolFilesTimer> SpoolFilesTimer::attach(boost::asio::io_context& io,
                                                         const std::shared_ptr<http::SpoolFiles>& files) {
  auto t = std::make_shared<SpoolFilesTimer>(io);
  t->files_ = files;
  files->set_wake([weak = std::weak_ptr<SpoolFilesTimer>(t)] {
    if (auto self = weak.lock()) self->arm();
  });
  return t;
}

void SpoolFilesTimer::arm() {
  auto files = files_.lock();
  if (armed_ || !files) return;
  armed_ = true;
  timer_.expires_at(files->next_expiry());
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->armed_ = false;
    auto files = self->files_.lock();
    if (files && files->trim_idle() > 0) self->arm();
  });
}

}  // namespace hearth::net

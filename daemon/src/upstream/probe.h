#pragma once
// One health check of one server: connect (TCP or Unix) and, with a path,
// `GET path` with `Connection: close`; healthy when the connect succeeds
// (no path) or the status is 2xx/3xx, all within `timeout`. `done(ok,
// detail)` runs once, on the io_context's executor; `detail` says what failed.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "upstream/backend.h"

namespace hearth::upstream {

using ProbeDone = std::function<void(bool ok, const std::string& detail)>;
void probe(boost::asio::io_context& io, const Server& server, const std::string& path,
           std::chrono::milliseconds timeout, ProbeDone done);

// The status code of a response's first line ("HTTP/1.1 204 No Content"), or 0.
int status_of_line(std::string_view line);

}  // namespace hearth::upstream

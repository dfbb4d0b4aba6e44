#pragma once
// A client's WebSocket (Request::websocket) passed through to one server of
// an [[upstreams]] entry: hearthd is a WebSocket client of the upstream
// (Boost.Beast websocket::stream in the client role, which masks its frames)
// and relays whole messages between the two sides (http::WebSocketLink on the
// client's side, which owns the client's socket and framing).
//
// Steps (do_x() starts one, on_x() finishes it):
//  1. the Backend's ServerSet picks a server and a new connection is opened
//     within connect_timeout (a refused or timed-out server is ejected and the
//     next one tried; none left: 502, all timed out: 504);
//  2. the upstream handshake (ws_handshake.h: the request's target after
//     strip_prefix, Host, the client's subprotocol offer, Origin, Cookie, ...)
//     must be answered within `timeout` (else 504). A 101 is relayed to the
//     client (link->accept with the chosen subprotocol and fields such as
//     Set-Cookie); any other answer is relayed as that HTTP response (status
//     and at most 64 KiB of body);
//  3. messages both ways, text or binary as sent. Client -> upstream: queued
//     while a write to the upstream is in flight; beyond kQueueLimit queued
//     the link stops reading the client (on_client_message returns false)
//     until the queue drains. Upstream -> client: one read at a time, and
//     none while the link is full() (the client is behind) until it says
//     when_writable(): a slow client holds the upstream back through TCP;
//  4. closing: the client's close code goes to the upstream
//     (ws_upstream_close_code), after the queued messages; the upstream's goes
//     to the client. An upstream connection that breaks (or sends more than
//     websocket.max_message_size at once) closes the client with 1011. A
//     retired generation (Backend::close_tunnels, a blue/green reload) closes
//     both sides with 1001; the daemon's drain closes the client with 1001
//     (WebSocketSession::going_away), which reaches the upstream as 1001.
//
// Observed like any upstream request: the sink gets start(101) on accept
// (for the access log and metrics) and finish() when the tunnel ends.
//
// Lifetime: shared_ptr; pending operations hold one, and so does a callback
// waiting in link->when_writable(); the link holds it weakly
// (set_app); the handler's Live set lists it (for abort()), and the Backend's
// tunnel set (for go_away()), both until end(). One executor.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "common/clock.h"
#include "http/handler.h"
#include "http/websocket_link.h"
#include "upstream/backend.h"

namespace hearth::upstream {

class WsTunnel final : public http::WebSocketApp,
                       public TunnelToBackend,
                       public std::enable_shared_from_this<WsTunnel> {
 public:
  struct Params {
    std::string name;  // the upstream's, for messages
    std::string target;  // upstream_target() of the request
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds connect_timeout{5000};
    uint64_t max_message_size = 1 << 20;  // from the upstream; beyond: the client is closed with 1011
  };
  using Live = std::unordered_set<WsTunnel*>;
  // Client messages queued for the upstream beyond this: the client is paused.
  static constexpr std::size_t kQueueLimit = 256 * 1024;
  // A refused handshake's body relayed to the client at most.
  static constexpr std::size_t kMaxRefusalBody = 64 * 1024;
  // After our close frame, how long the upstream has to answer with its own.
  static constexpr std::chrono::milliseconds kCloseTimeout{5000};

  WsTunnel(boost::asio::io_context& io, Params p, const ClockSource& clock, std::shared_ptr<Backend> backend,
           std::shared_ptr<Live> live, std::shared_ptr<http::Request> req, std::shared_ptr<http::ResponseSink> sink,
           std::string request_id);
  ~WsTunnel() override;

  void start();
  // The daemon stops now: the upstream socket is closed, the client closed with 1001.
  void abort();

  // http::WebSocketApp
  bool on_client_message(bool text, std::string_view data) override;
  void on_client_closed(uint16_t code) override;
  // TunnelToBackend
  void go_away() override;

 private:
  enum class State {
    Connecting,   // a server picked, its connection being opened (connect_timeout runs)
    Handshaking,  // the upstream handshake sent, its answer awaited (timeout runs)
    Open,         // 101 relayed to the client: messages both ways, no timeout
    Closing,      // our close frame is going (or gone) to the upstream: awaiting its close (kCloseTimeout)
    Done,         // ended: the sink is finished, the registrations dropped
  };
  using WsStream = boost::beast::websocket::stream<Socket, false>;  // no permessage-deflate

  void do_pick();
  void do_connect();
  void on_connect(const boost::system::error_code& ec);
  void do_handshake();
  void on_handshake(const boost::system::error_code& ec);
  void relay_refusal();
  void do_read();
  void on_read(const boost::system::error_code& ec);
  void do_write();
  void on_written(const boost::system::error_code& ec);
  void start_close(uint16_t code, std::string_view reason);  // code 0: a close frame without a code
  void on_closed(const boost::system::error_code& ec);
  void server_failed(const std::string& why);
  void fail(int status, const std::string& text, const std::string& log = "");
  void broken(const std::string& why);  // the open upstream connection failed: client closed with 1011
  void end(bool ok);
  void close_socket();
  void arm(std::chrono::milliseconds d);

  Params p_;
  const ClockSource& clock_;
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<Live> live_;
  std::shared_ptr<http::Request> req_;
  std::shared_ptr<http::ResponseSink> sink_;
  std::shared_ptr<http::WebSocketLink> link_;
  std::string request_id_;
  boost::asio::any_io_executor ex_;
  std::optional<WsStream> ws_;
  boost::asio::steady_timer timer_;
  boost::beast::websocket::response_type res_;
  boost::beast::flat_buffer rbuf_;

  struct Message {
    bool text;
    std::string data;
  };
  std::deque<Message> queue_;  // from the client, for the upstream; front() is being written while writing_
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool client_paused_ = false;
  std::optional<uint16_t> close_after_queue_;  // the client closed: its code, once the queue is written

  State state_ = State::Connecting;
  std::size_t server_ = 0;
  std::uint64_t tried_ = 0;
  bool any_timed_out_ = false;  // some server did not answer in time (504 rather than 502 when none is left)
  bool timed_out_ = false;
  bool started_ = false;        // sink_->start() called (101, or the refusal relayed)
  bool sink_finished_ = false;  // sink_->simple() finished it
  bool gone_away_ = false;      // go_away() came before the tunnel opened
  State armed_for_ = State::Done;  // the state the timer runs for
};

}  // namespace hearth::upstream

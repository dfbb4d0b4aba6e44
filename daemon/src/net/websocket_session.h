#pragma once
// An upgraded HTTP/1.1 connection speaking RFC 6455 with the client, and
// whole messages with the app (http::WebSocketLink). The HttpConnection
// creates it when it dispatches a valid opening handshake; while the app has
// not answered, the connection keeps the socket. accept() takes the socket
// over (HttpConnection::hand_over_websocket), writes the 101 and then relays:
// client frames are parsed (websocket/frame_parser.h) into messages for the
// app; the app's messages are framed for the client. The session answers
// pings itself, runs the closing handshake both ways, sends a ping after half
// of `websocket.idle_timeout` of silence and closes (1001) after all of it,
// and closes a client that does not read (its output beyond kMaxOutput, or a
// write without progress for http.send_timeout). An app side that can wait
// (an upstream) is held back before that: full() at half of it.
//
// Lifetime: shared_ptr; pending async operations hold one, and so does the
// app side while its exchange lasts. ServerState::websockets lists the open
// ones (for the gauge and for drain/abort).
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "http/websocket_link.h"
#include "net/server_state.h"
#include "net/stream.h"
#include "websocket/frame_parser.h"

namespace hearth::net {

class HttpConnection;

class WebSocketSession final : public http::WebSocketLink, public std::enable_shared_from_this<WebSocketSession> {
 public:
  // Bytes of frames waiting for a client that does not read; beyond: the connection is closed.
  static constexpr std::size_t kMinMaxOutput = 4u << 20;
  // After our close frame, how long the client has to answer with its own.
  static constexpr Duration kCloseTimeout{5000};

  WebSocketSession(std::shared_ptr<ServerState> state, std::weak_ptr<HttpConnection> conn, std::string key);
  ~WebSocketSession() override;

  // http::WebSocketLink
  void set_app(std::weak_ptr<http::WebSocketApp> app) override { app_ = std::move(app); }
  void detach_app() override { app_.reset(); }
  [[nodiscard]] bool accept(std::string_view subprotocol, std::vector<http::Header> headers) override;
  void send(bool text, std::string_view data) override;
  void close(uint16_t code, std::string_view reason) override;
  void resume_reading() override;
  bool open() const override { return phase_ == Phase::Open; }
  bool full() const override { return phase_ == Phase::Open && out_.size() + wbuf_.size() >= max_output_ / 2; }
  void when_writable(std::function<void()> cb) override;

  // From the HttpConnection: it closed before the app accepted.
  void connection_gone();
  // From HttpConnection::hand_over_websocket: the socket and what was read after the head.
  void adopt(Stream stream, std::string_view leftover);
  // The server drains (stop): close with 1001.
  void going_away();
  // The server closes everything now.
  void abort();

 private:
  enum class Phase {
    Handshake,  // the app has not accepted; the HttpConnection owns the socket
    Open,       // 101 sent: messages both ways
    Closing,    // a close frame sent (ours or the echo of the client's): flush, await the client's, then close
    Closed,     // socket closed (or never adopted)
  };

  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void process();  // parses pending_ into events until done, paused or closed
  void queue_frame(websocket::Opcode op, std::string_view payload);
  void start_close(uint16_t code, std::string_view reason);  // code 0: an empty close frame
  void do_write();
  void on_write(const boost::system::error_code& ec, std::size_t n);
  void tell_app_closed(uint16_t code);
  void close_now();
  void arm_timer();
  void on_timer(const boost::system::error_code& ec);

  std::shared_ptr<ServerState> state_;
  std::weak_ptr<HttpConnection> conn_;
  std::string key_;
  std::weak_ptr<http::WebSocketApp> app_;
  bool app_told_ = false;  // on_client_closed was called (or the app closed first)

  Phase phase_ = Phase::Handshake;
  std::optional<Stream> stream_;
  std::optional<boost::asio::steady_timer> timer_;
  websocket::FrameParser parser_;
  std::vector<char> rbuf_;
  std::string pending_;  // bytes read but not yet parsed (while paused)
  bool reading_ = false;
  bool paused_ = false;          // the app side is full: no reads until resume_reading()
  bool close_received_ = false;  // the client's close frame arrived (or the stream failed)
  bool close_sent_ = false;
  std::string out_;     // frames waiting to be written
  std::string wbuf_;    // the write in flight
  bool writing_ = false;
  std::size_t max_output_;
  std::function<void()> writable_cb_;  // when_writable(): run once out_ + wbuf_ < max_output_ / 2

  TimePoint last_input_{};
  bool ping_sent_ = false;
  TimePoint write_since_ = TimePoint::max();  // a write in flight made no progress since
  TimePoint close_deadline_ = TimePoint::max();
  bool timer_armed_ = false;
  TimePoint armed_at_ = TimePoint::max();
};

}  // namespace hearth::net

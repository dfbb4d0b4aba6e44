"""One WebSocket on an ASGI worker's slot: the ``websocket`` scope and its events.

The daemon speaks RFC 6455 with the client (framing, masking, ping/pong, the closing
handshake, size limits); the app sees whole messages. On the slot (docs/worker-protocol.md):

  daemon -> worker  REQUEST (hearth.websocket=1), then WS_RECEIVE / WS_DISCONNECT
  worker -> daemon  WS_ACCEPT, WS_SEND, WS_CLOSE, and RESPONSE_END when the app returns

Before ``websocket.accept`` the app may close (the client gets 403) or fail (500, sent as an
ordinary response). After it, a failure closes the socket with 1011 and logs the traceback;
returning without closing closes with 1000.
"""

import collections
import socket
import traceback

from .asgi import build_scope, encode_response_start
from .protocol import (
    FLAG_TEXT, HEADER, MAX_PAYLOAD, RESPONSE_BODY, RESPONSE_END, WS_ACCEPT, WS_CLOSE, WS_DISCONNECT,
    WS_RECEIVE, WS_SEND)

_END = HEADER.pack(RESPONSE_END, 0, 0, 0, 0)
_500_BODY = b"Internal Server Error\n"

# Where the socket is, as the app sees it.
CONNECTING = "connecting"  # websocket.connect not yet answered
OPEN = "open"              # accepted
CLOSED = "closed"          # the app sent websocket.close
GONE = "gone"              # the client closed or left (WS_DISCONNECT)


class ClientDisconnected(OSError):
    """send() after the client went away (the ASGI spec asks for an OSError subclass)."""


def build_websocket_scope(env, state=None):
    """The ``websocket`` scope: the http scope's keys without ``method``, ws/wss, subprotocols."""
    scope = build_scope(env, state)
    scope["type"] = "websocket"
    del scope["method"]
    scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
    offered = env.get("HTTP_SEC_WEBSOCKET_PROTOCOL", "")
    scope["subprotocols"] = [p.strip() for p in offered.split(",") if p.strip()]
    return scope


def _frame(ftype, payload=b"", flags=0, aux=0):
    return HEADER.pack(ftype, flags, 0, len(payload), aux) + payload


class WsCycle:
    """The app's ``receive``/``send`` for one WebSocket over its slot."""

    def __init__(self, slot, env):
        self.slot = slot
        self.env = env
        self.state = CONNECTING
        self.connect_sent = False
        self.code = 1000  # websocket.disconnect's code once the socket is closed
        self.inbox = collections.deque()  # frames read by send() before receive() asked for them
        self.client_gone = False  # a WS_DISCONNECT arrived (maybe still in the inbox)
        # A message was just received: the next send skips _poll() (an echo's reply; a
        # disconnect behind that message reaches the app at its next receive()).
        self.just_received = False

    def _append(self, data):
        s = self.slot
        n = len(data)
        if s.end + n > len(s.buf):
            avail = s.end - s.pos
            if avail + n > len(s.buf):
                grown = bytearray(avail + n)
                grown[:avail] = s.view[s.pos:s.end]
                s.buf = grown
                s.view = memoryview(grown)
            else:
                s.buf[:avail] = s.buf[s.pos:s.end]
            s.pos = 0
            s.end = avail
        s.view[s.end:s.end + n] = data
        s.end += n

    def _poll(self):
        """Takes what the daemon sent without waiting (so a sending app learns that the client
        left): whole frames go to the inbox."""
        s = self.slot
        try:
            data = s.sock.recv(256 * 1024, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError:
            return
        if data:
            self._append(data)
        while s.end - s.pos >= 16:
            ftype, flags, _res, length, aux = HEADER.unpack_from(s.buf, s.pos)
            if length > MAX_PAYLOAD or s.end - s.pos < 16 + length:
                break
            start = s.pos + 16
            self.inbox.append((ftype, flags, aux, bytes(s.view[start:start + length])))
            s.pos = start + length
            if ftype == WS_DISCONNECT:
                self.client_gone = True
                self.code = aux
                break  # nothing follows it

    async def _read_frame(self):
        """The next frame from the daemon; the slot's buffer moves only once it is whole."""
        s = self.slot
        if s.end - s.pos < 16:
            await s.fill(16)
        ftype, flags, _res, length, aux = HEADER.unpack_from(s.buf, s.pos)
        if length > MAX_PAYLOAD:
            raise ValueError("frame of %d bytes from the daemon" % length)
        if s.end - s.pos < 16 + length:
            await s.fill(16 + length)
        start = s.pos + 16
        payload = bytes(s.view[start:start + length])
        s.pos = start + length
        return ftype, flags, aux, payload

    async def receive(self):
        if not self.connect_sent:
            self.connect_sent = True
            return {"type": "websocket.connect"}
        if self.state in (CLOSED, GONE):
            return {"type": "websocket.disconnect", "code": self.code}
        while True:
            if self.inbox:
                ftype, flags, aux, payload = self.inbox.popleft()
            else:
                ftype, flags, aux, payload = await self._read_frame()
            if ftype == WS_RECEIVE:
                self.just_received = True
                if flags & FLAG_TEXT:
                    return {"type": "websocket.receive", "text": payload.decode("utf-8"), "bytes": None}
                return {"type": "websocket.receive", "bytes": payload, "text": None}
            if ftype == WS_DISCONNECT:
                self.state = GONE
                self.client_gone = True
                self.code = aux
                return {"type": "websocket.disconnect", "code": aux}
            raise RuntimeError("unexpected frame 0x%02x on a WebSocket slot" % ftype)

    async def send(self, message):
        mtype = message["type"]
        if self.state == OPEN and not self.client_gone:
            if self.just_received:
                self.just_received = False
            else:
                self._poll()
        if self.state == GONE or self.client_gone:
            if mtype == "websocket.close":
                return
            raise ClientDisconnected("the WebSocket client went away (code %d)" % self.code)
        if mtype == "websocket.accept":
            if self.state != CONNECTING:
                raise RuntimeError("websocket.accept sent twice, or after websocket.close")
            sub = message.get("subprotocol") or ""
            parts = [sub.encode("latin-1")]
            for name, value in message.get("headers") or ():
                parts.append(bytes(name))
                parts.append(bytes(value))
            self.state = OPEN
            await self.slot.sendall(_frame(WS_ACCEPT, b"\0".join(parts)))
            return
        if mtype == "websocket.send":
            if self.state != OPEN:
                raise RuntimeError("websocket.send %s" % (
                    "before websocket.accept" if self.state == CONNECTING else "after websocket.close"))
            text = message.get("text")
            if text is not None:
                await self.slot.sendall(_frame(WS_SEND, text.encode("utf-8"), FLAG_TEXT))
            else:
                data = message.get("bytes")
                if data is None:
                    raise TypeError("websocket.send needs 'text' or 'bytes'")
                await self.slot.sendall(_frame(WS_SEND, bytes(data)))
            return
        if mtype == "websocket.close":
            if self.state == CLOSED:
                return
            code = message.get("code") or 1000
            reason = (message.get("reason") or "").encode("utf-8")
            self.state = CLOSED
            self.code = code
            await self.slot.sendall(_frame(WS_CLOSE, reason, 0, code))
            return
        raise RuntimeError("unexpected ASGI message %r in a websocket scope" % (mtype,))

    async def run(self, app, scope):
        from .conn import SlotClosed
        failed = False
        try:
            await app(scope, self.receive, self.send)
        except SlotClosed:
            raise
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failed = True
            if not isinstance(exc, ClientDisconnected):
                self.slot.log("Exception in WebSocket handler %s\n%s" % (
                    self.env.get("RAW_URI", self.env.get("PATH_INFO", "?")), traceback.format_exc()))
        if self.state == CONNECTING:
            # Neither accepted nor refused: an HTTP 500 (as uvicorn), also when the app raised.
            start, _code, _cl = encode_response_start({
                "type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(_500_BODY)).encode())]})
            if not failed:
                self.slot.log("the ASGI app returned from a websocket scope without accepting or closing")
            out = start + HEADER.pack(RESPONSE_BODY, 0, 0, len(_500_BODY), 0) + _500_BODY + _END
        elif self.state == OPEN:
            out = _frame(WS_CLOSE, b"", 0, 1011 if failed else 1000) + _END
        else:
            out = _END
        await self.slot.sendall(out)

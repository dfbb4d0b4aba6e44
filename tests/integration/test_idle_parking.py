"""Idle plain HTTP/1.1 keep-alive connections are parked (net/idle_parker.h): after
250 ms without a request a connection is only a socket and a deadline in one table.
A parked connection must still answer its next request, be closed at its keep-alive
timeout and on a graceful shutdown, and keep its place in max_connections_per_ip."""
import os
import signal
import time
import urllib.request

import pytest

from conftest import poll
from hhttp import Conn, request



def parked(srv):
    with urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("hearth_idle_connections_parked "):
                return int(float(line.split()[1]))
    raise AssertionError("hearth_idle_connections_parked missing from /metrics")


def open_served(port, n):
    conns = []
    for _ in range(n):
        c = Conn(port, timeout=5)
        c.send(request("GET", "/"))
        assert c.read_response().status == 200
        conns.append(c)
    return conns


def test_parked_connections_answer_their_next_requests(hearthd):
    srv = hearthd("basic:app", workers=1, toml='[http]\nkeepalive_timeout = "30s"\n')
    conns = open_served(srv.port, 40)
    try:
        poll(lambda: parked(srv) == 40, 10, what="40 idle connections parked")
        for round_ in range(2):
            for c in conns:
                c.send(request("GET", "/"))
            for c in conns:
                r = c.read_response()
                assert r.status == 200 and r.body == b"Hello from basic\n"
            # ... and parked again once idle, then taken back again.
            poll(lambda: parked(srv) == 40, 10, what=f"parked again after round {round_}")
        # Pipelined requests on a parked connection: both answered, in order.
        conns[0].send(request("GET", "/") + request("GET", "/"))
        assert conns[0].read_response().status == 200
        assert conns[0].read_response().status == 200
        # A client that goes away while parked: its socket is closed and forgotten.
        conns[1].close()
        poll(lambda: parked(srv) <= 39, 10, what="a parked connection whose client left is dropped")
    finally:
        for c in conns:
            c.close()


def test_parked_connection_closed_at_keepalive_timeout(hearthd):
    srv = hearthd("basic:app", workers=1, toml='[http]\nkeepalive_timeout = "1500ms"\n')
    with Conn(srv.port, timeout=5) as c:
        c.send(request("GET", "/"))
        assert c.read_response().status == 200
        t0 = time.monotonic()
        poll(lambda: parked(srv) == 1, 5, what="the idle connection parked")
        assert c.closed_by_peer(5), "parked connection not closed at keepalive_timeout"
        elapsed = time.monotonic() - t0
        assert 1.2 <= elapsed < 3.5, f"keepalive_timeout is 1.5s, closed after {elapsed:.2f}s"
        assert c.buf == b"", f"unexpected bytes on idle close: {c.buf!r}"
    poll(lambda: parked(srv) == 0, 5, what="no parked connection left")


def test_parked_connections_closed_on_graceful_shutdown(hearthd):
    srv = hearthd("basic:app", "--graceful-timeout", "10s", workers=1,
                  toml='[http]\nkeepalive_timeout = "60s"\n')
    conns = open_served(srv.port, 5)
    try:
        poll(lambda: parked(srv) == 5, 10, what="5 idle connections parked")
        t0 = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        for c in conns:
            assert c.closed_by_peer(5), "parked connection left open by a graceful shutdown"
        assert srv.wait_exit(10) == 0
        assert time.monotonic() - t0 < 5, "graceful shutdown waited for parked idle connections"
    finally:
        for c in conns:
            c.close()


def test_parked_connections_keep_their_per_ip_slot(hearthd):
    srv = hearthd("basic:app", workers=1,
                  toml='[http]\nkeepalive_timeout = "30s"\nmax_connections_per_ip = 3\n')
    conns = open_served(srv.port, 3)
    try:
        poll(lambda: parked(srv) == 3, 10, what="3 idle connections parked")
        with Conn(srv.port, timeout=5) as extra:
            assert extra.closed_by_peer(5), "a 4th connection from the address was accepted"
        conns[0].close()
        poll(lambda: parked(srv) == 2, 10, what="the closed client's parked connection dropped")
        # Its slot is free again: a new connection is served.
        fresh = open_served(srv.port, 1)
        conns.extend(fresh)
        for c in conns[1:3]:
            c.send(request("GET", "/"))
            assert c.read_response().status == 200
    finally:
        for c in conns:
            c.close()


def test_clients_around_the_parking_threshold_are_all_answered(hearthd):
    """Requests spaced around kParkAfter (250 ms): connections are parked and taken
    back many times, some with two pipelined requests; every request is answered."""
    import random
    import threading
    srv = hearthd("basic:app", workers=1, toml='[http]\nkeepalive_timeout = "30s"\n')
    errors, answered = [], []

    def client(seed):
        rnd = random.Random(seed)
        try:
            with Conn(srv.port, timeout=5) as c:
                for _ in range(15):
                    time.sleep(rnd.uniform(0.15, 0.45))  # load shape, not synchronisation
                    n = rnd.choice([1, 1, 2])
                    c.send(request("GET", "/") * n)
                    for _ in range(n):
                        r = c.read_response()
                        assert r.status == 200 and r.body == b"Hello from basic\n", r.status
                        answered.append(1)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, errors[:3]
    assert len(answered) >= 20 * 15
    assert srv.proc.poll() is None

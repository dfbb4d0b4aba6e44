"""Worker CPU per request through the fake daemon, against a minimal Python echo baseline.

    /usr/bin/python3 plugins/python/tests/bench_worker.py [N] [ROUNDS]

Both servers run the same recv_into + sendall per request; the baseline does no WSGI work, so
the ratio is the runtime's own overhead. Rounds are interleaved (DOMAIN-NOTES: report ratios
measured in the same run). Not collected by pytest.
"""

import os
import socket
import sys
import tempfile
import time

import fakedaemon as F

APP_HEADERS = [("HTTP_HOST", "localhost"), ("HTTP_USER_AGENT", "bench"), ("HTTP_ACCEPT", "*/*")]


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(sock, pid, req, n):
    buf = bytearray(1 << 16)
    view = memoryview(buf)
    c0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    for _ in range(n):
        sock.sendall(req)
        got = 0
        while True:
            got += sock.recv_into(view[got:])
            if got >= 16 and buf[got - 16] == F.P.RESPONSE_END:
                break
    wall = time.perf_counter() - t0
    return (cpu_seconds(pid) - c0) / n * 1e6, n / wall


def baseline(req, n):
    resp = (F.P.frame(F.P.RESPONSE_START, b"200 OK\0Content-Type\0text/plain\0Content-Length\x0011")
            + F.P.frame(F.P.RESPONSE_BODY, b"hello world") + F.P.frame(F.P.RESPONSE_END))
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        b.close()
        buf = bytearray(1 << 16)
        while a.recv_into(buf):
            a.sendall(resp)
        os._exit(0)
    a.close()
    try:
        return drive(b, pid, req, n)
    finally:
        b.close()
        F.wait_pid(pid, 5)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    F.become_subreaper()
    block = F.environ_block("GET", "/hello", "", b"", APP_HEADERS, "http", "bench")
    req = F.HEADER.pack(F.P.REQUEST, 0, 0, len(block), 0) + block
    d = F.FakeDaemon(tempfile.mkdtemp(prefix="hearth-bench-"))
    try:
        d.start()
        w = d.fork(1)
        drive(w.slots[0], w.pid, req, 2000)  # warm up
        for r in range(rounds):
            base_us, base_rps = baseline(req, n)
            us, rps = drive(w.slots[0], w.pid, req, n)
            print("round %d: worker %.1f us/req (%.0f req/s), baseline %.1f us/req (%.0f req/s), "
                  "ratio %.2f" % (r + 1, us, rps, base_us, base_rps, us / base_us if base_us else 0))
    finally:
        d.close()


if __name__ == "__main__":
    main()

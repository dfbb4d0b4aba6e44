"""Slow readers and the response spool (issue 16): with `[http] max_response_spool` the temp
file that holds a response for a slow client never grows past the limit; the worker is
paused instead (back-pressure) and the response still completes, byte for byte, once the
client reads. `max_total_response_spool` bounds all spools together the same way."""
import os
import socket
import threading
import time

import pytest

from conftest import poll

KiB, MiB = 1024, 1024 * 1024


def spool_sizes(pid, temp_dir):
    """Sizes of hearthd's open, unlinked temp files under temp_dir (its spools)."""
    sizes = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
            if target.startswith(str(temp_dir)):
                sizes.append(os.stat(f"{fd_dir}/{fd}").st_size)
        except OSError:
            continue  # closed meanwhile
    return sizes


class SpoolWatcher(threading.Thread):
    """Samples the spool files every 10 ms; records the largest single one and the largest sum."""

    def __init__(self, pid, temp_dir):
        super().__init__(daemon=True)
        self.pid, self.temp_dir = pid, temp_dir
        self.max_one = self.max_total = self.samples = 0
        self.stop = threading.Event()

    def run(self):
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            sizes = spool_sizes(self.pid, self.temp_dir)
            self.samples += 1
            if sizes:
                self.max_one = max(self.max_one, max(sizes))
                self.max_total = max(self.max_total, sum(sizes))
            self.stop.wait(0.01)


def slow_get(port, path, pause, read_size=64 * KiB, delay=0.0, timeout=60):
    """GET, then read nothing for `pause` seconds, then read everything (`delay` between reads).
    Returns (head, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * KiB)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        time.sleep(pause)
        data = bytearray()
        while True:
            chunk = s.recv(read_size)
            if not chunk:
                break
            data += chunk
            if delay:
                time.sleep(delay)
    finally:
        s.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return head, body


def spool_toml(tmp_path, per_response, total="4GiB"):
    return (f'temp_dir = "{tmp_path}"\n[http]\nresponse_buffer_size = "64KiB"\n'
            f'max_response_spool = "{per_response}"\nmax_total_response_spool = "{total}"\n')


def test_slow_reader_spool_stays_under_max_response_spool(hearthd, tmp_path):
    size = 16 * MiB
    srv = hearthd("basic:app", workers=1, toml=spool_toml(tmp_path, "256KiB"))
    w = SpoolWatcher(srv.proc.pid, tmp_path)
    w.start()
    try:
        head, body = slow_get(srv.port, f"/big?size={size}", pause=3.0, read_size=256 * KiB)
    finally:
        w.stop.set()
        w.join(5)
    print(f"\nlargest spool file {w.max_one} bytes over {w.samples} samples")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    assert len(body) == size and body == b"b" * size, f"{len(body)} bytes"
    assert w.samples > 50
    assert 0 < w.max_one <= 256 * KiB, f"spool file reached {w.max_one} bytes (limit 256 KiB)"
    # The worker was paused, not failed: it serves the next request.
    head, body = slow_get(srv.port, "/", pause=0)
    assert head.startswith(b"HTTP/1.1 200") and body == b"Hello from basic\n"


def test_total_response_spool_bounds_all_slow_readers(hearthd, tmp_path):
    size = 8 * MiB
    srv = hearthd("basic:app", "--threads", "4", workers=1,
                  toml=spool_toml(tmp_path, "512KiB", total="768KiB"))
    w = SpoolWatcher(srv.proc.pid, tmp_path)
    w.start()
    results = [None] * 3

    def client(i):
        results[i] = slow_get(srv.port, f"/big?size={size}", pause=3.0, read_size=256 * KiB)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    finally:
        w.stop.set()
        w.join(5)
    print(f"\nlargest spool {w.max_one} bytes, largest total {w.max_total} bytes")
    for head, body in results:
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        assert len(body) == size and body == b"b" * size
    assert w.max_one <= 512 * KiB, w.max_one
    assert 0 < w.max_total <= 768 * KiB, f"spools together reached {w.max_total} (limit 768 KiB)"

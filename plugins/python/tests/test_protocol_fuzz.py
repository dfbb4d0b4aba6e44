"""Bounded, seeded mutation fuzzing of the runtime's side of the worker protocol
(stdlib only; the daemon's side is fuzzed by fuzz/fuzz_worker_protocol with libFuzzer).

- recv_control_frame (zygote control channel) over a socketpair, fed mutated FORK /
  SHUTDOWN frames: it returns a well-formed frame or raises ProtocolError/PeerClosed,
  never anything else, and never hangs (the writer closes; every socket has a timeout).
- A real worker's request loop fed REQUEST frames with mutated environ blocks (random
  and non-ASCII names and values, stray NULs that shift the key/value pairs, missing
  keys, a CONTENT_LENGTH that disagrees with the frame's body length): every request
  gets a well-formed START/BODY/END response and the worker stays up. A frame of
  another type, or a payload over 64 MiB, makes it exit with status 1 (EXIT_INTERNAL).

HEARTH_FUZZ_ITERATIONS scales the loops (default small enough for `make test`);
HEARTH_FUZZ_SEED picks another seed (the failing seed is in the assertion message).
"""
import os
import random
import socket
import struct

import pytest

import fakedaemon
from fakedaemon import HEADER, P

ITER = int(os.environ.get("HEARTH_FUZZ_ITERATIONS", "300"))
SEED = int(os.environ.get("HEARTH_FUZZ_SEED", "8"))


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        if op == 0 and data:  # flip a bit
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:  # set a byte
            data[rng.randrange(len(data))] = rng.choice([0, 0xff, 0x7f, 0x80, rng.randrange(256)])
        elif op == 2:  # truncate
            del data[rng.randrange(len(data) + 1):]
        elif op == 3:  # insert random bytes
            i = rng.randrange(len(data) + 1)
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 4 and len(data) >= 16:  # rewrite a header field
            field = rng.choice([(0, "B"), (1, "B"), (2, "H"), (4, "I"), (8, "Q")])
            off, fmt = field
            size = struct.calcsize("<" + fmt)
            struct.pack_into("<" + fmt, data, off, rng.randrange(256 ** size))
        else:  # duplicate a slice
            if data:
                i = rng.randrange(len(data))
                data[i:i] = data[i:i + rng.randint(1, 32)]
    return bytes(data)


def test_recv_control_frame_mutations():
    rng = random.Random(SEED)
    seeds = [
        P.frame(P.FORK, b'{"worker_id": 1, "generation": 1, "slots": 2}'),
        P.frame(P.SHUTDOWN),
        P.frame(P.FORK, b"x" * 300, flags=3, aux=7),
    ]
    outcomes = {"frame": 0, "ProtocolError": 0, "PeerClosed": 0}
    for i in range(ITER * 4):
        data = mutate(rng, rng.choice(seeds))
        a, b = socket.socketpair()
        try:
            a.settimeout(5)
            b.settimeout(5)
            a.sendall(data)
            a.close()
            try:
                ftype, flags, aux, payload, fds = P.recv_control_frame(b)
            except P.ProtocolError:
                outcomes["ProtocolError"] += 1
                continue
            except P.PeerClosed:
                outcomes["PeerClosed"] += 1
                continue
            except Exception as exc:  # anything else is a finding
                pytest.fail("seed %d iteration %d: %r raised %r" % (SEED, i, data, exc))
            assert fds == []
            head = HEADER.unpack(data[:16])
            assert ftype in P.CONTROL_TO_ZYGOTE, (SEED, i, data)
            assert (ftype, flags, head[3], aux) == (head[0], head[1], len(payload), head[4]), (SEED, i)
            assert payload == data[16:16 + len(payload)], (SEED, i)
            outcomes["frame"] += 1
        finally:
            a.close()
            b.close()
    # The mutations must reach every outcome, or this test stopped testing anything.
    assert all(outcomes.values()), outcomes


ROUTES = ["/hello", "/env", "/echo", "/read_all", "/readline", "/readlines", "/iterate",
          "/empty", "/nowhere", ""]
KEYS = ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_LENGTH", "CONTENT_TYPE",
        "HTTP_HOST", "HTTP_X_A", "SERVER_PROTOCOL", "wsgi.url_scheme", "hearth.request_id"]


def random_text(rng, n):
    return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(128, 256),
                                   rng.randrange(1, 32)])) for _ in range(n))


def mutated_request(rng):
    """(environ block bytes, body bytes) for one REQUEST frame."""
    body = bytes(rng.randrange(256) for _ in range(rng.choice([0, 0, 1, 7, 100, 3000])))
    env = [
        ("REQUEST_METHOD", rng.choice(["GET", "POST", "HEAD", "PUT", random_text(rng, 3)])),
        ("SCRIPT_NAME", ""),
        ("PATH_INFO", rng.choice(ROUTES)),
        ("QUERY_STRING", random_text(rng, rng.randrange(8))),
        ("SERVER_NAME", "localhost"), ("SERVER_PORT", "8000"), ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "1"),
        ("CONTENT_LENGTH", rng.choice([str(len(body)), "", "-1", "abc", str(len(body) + 5), "0"])),
        ("wsgi.url_scheme", rng.choice(["http", "https", random_text(rng, 4)])),
        ("hearth.request_id", "f%d" % rng.randrange(10 ** 6)),
    ]
    for _ in range(rng.randrange(4)):
        name = random_text(rng, rng.randint(1, 6)).encode("latin-1").upper().decode("latin-1")
        env.append(("HTTP_" + name, random_text(rng, rng.randrange(20))))
    if rng.random() < 0.3:
        del env[rng.randrange(len(env))]
    rng.shuffle(env)
    block = P.encode_pairs(env)
    if rng.random() < 0.2:  # a stray NUL: keys and values shift, maybe an odd count
        i = rng.randrange(len(block) + 1)
        block = block[:i] + b"\0" + block[i:]
    return block, body


@pytest.mark.parametrize("violation", ["type", "length"])
def test_worker_request_decoder_mutations(make_daemon, violation):
    rng = random.Random(SEED + (violation == "length"))
    d = make_daemon()
    d.start()
    w = d.fork(1)
    slot = w.slots[0]
    for i in range(ITER // 2):
        block, body = mutated_request(rng)
        slot.sendall(HEADER.pack(P.REQUEST, 0, 0, len(block), len(body)) + block + body)
        try:
            r = w.read_response(timeout=10)
        except Exception as exc:
            pytest.fail("seed %d iteration %d: block %r body %d bytes: %r\n%s"
                        % (SEED, i, block, len(body), exc, d.stderr()[-2000:]))
        assert 100 <= r.code <= 599, (SEED, i, r)
    assert w.request("/hello").body == b"hello world"
    # Protocol violations end the worker (the daemon then replaces it).
    if violation == "type":
        slot.sendall(HEADER.pack(P.RESPONSE_BODY, 0, 0, 0, 0))
    else:
        slot.sendall(HEADER.pack(P.REQUEST, 0, 0, P.MAX_PAYLOAD + 1, 0))
    assert w.wait_exit(timeout=10) == 1
    assert "protocol error" in d.stderr()

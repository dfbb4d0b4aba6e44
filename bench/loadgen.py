"""Running the load generators (wrk, h2load) and reading their output."""
import re
import subprocess

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unreadable latency {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def wrk_command(url, duration, threads=2, connections=64, script=None):
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, int(round(duration)))}s", "--latency"]
    if script:
        argv += ["-s", script]
    return argv + [url]


def parse_wrk(text):
    """req/s, p50/p99 (ms), requests, non-2xx/3xx and socket errors from `wrk --latency` output."""
    out = {"rps": None, "p50": None, "p99": None, "requests": None,
           "non2xx": 0, "sock_errors": 0, "sock_kinds": {}}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"^\s+(\d+) requests in ", text, re.M)
    if m:
        out["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", text, re.M)
        if m:
            out[key] = _ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        c, r, w, t = (int(x) for x in m.groups())
        out["sock_errors"] = c + r + w + t
        out["sock_kinds"] = {"connect": c, "read": r, "write": w, "timeout": t}
    return out


def run_wrk(url, duration, script=None, timeout_pad=30):
    argv = wrk_command(url, duration, script=script)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + timeout_pad)
    parsed = parse_wrk(r.stdout)
    parsed["raw"] = r.stdout + r.stderr
    if parsed["rps"] is None:
        raise RuntimeError(f"wrk gave no result ({' '.join(argv)}):\n{r.stdout}{r.stderr}")
    return parsed


def h2load_command(url, duration, threads=2, connections=64, streams=1):
    return ["h2load", "-t", str(threads), "-c", str(connections), "-m", str(streams),
            "-D", str(max(1, int(round(duration)))), url]


def parse_h2load(text):
    """req/s, mean and max request time (ms), requests, failed/errored from h2load output."""
    out = {"rps": None, "p50": None, "p99": None, "mean": None, "max": None, "requests": None,
           "non2xx": 0, "sock_errors": 0, "sock_kinds": {}}
    m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", text)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        out["requests"] = int(m.group(3))
        out["sock_errors"] = int(m.group(6)) + int(m.group(7))
        out["sock_kinds"] = {"errored": int(m.group(6)), "timeout": int(m.group(7))}
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out["non2xx"] = int(m.group(3)) + int(m.group(4))
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", text)
    if m:
        out["max"] = _ms(m.group(2))
        out["mean"] = _ms(m.group(3))
    return out


def run_h2load(url, duration, timeout_pad=30):
    argv = h2load_command(url, duration)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + timeout_pad)
    parsed = parse_h2load(r.stdout)
    parsed["raw"] = r.stdout + r.stderr
    if parsed["rps"] is None:
        raise RuntimeError(f"h2load gave no result ({' '.join(argv)}):\n{r.stdout}{r.stderr}")
    return parsed

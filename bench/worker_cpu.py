#!/usr/bin/python3
"""CPU time per request of the Python worker that serves it: hearthd's worker against the
peer's worker, on the same app, with ONE worker process each (docs/profile.md section 5).

Wall-clock req/s is noise on a shared machine; the CPU a worker spends per request is not
(much): this is the figure to optimise the worker runtime on. For each stack: start it with
one worker, warm it up, then ``ROUNDS`` times: read the worker's CPU time (the sum of
/proc/PID/task/*/schedstat, nanoseconds), run one bounded ``wrk -t1 -c16 -dSECONDS``, read it
again and divide by the responses wrk completed. Medians are printed.

  ASGI (--asgi):  bench/apps/fastapi_app.py ``GET /``
      hearthd --interface asgi -w 1 --preload    vs  uvicorn --loop uvloop (h11: httptools is not installed, as in make bench)
  WSGI (--wsgi):  bench/apps/flask_hello.py and flask_json.py ``GET /``
      hearthd -w 1 --preload                     vs  uwsgi --http-socket --processes 1

"worker" is the process(es) that run the app: hearthd's children (the worker; the zygote is
idle), uvicorn's single process, uWSGI's single process (no --master). For hearthd the
daemon's own CPU per request is printed too ("front"); the peers have no front process.
Every process is started here and stopped by its PID (bench/procs.py).

  /usr/bin/python3 bench/worker_cpu.py              # both
  /usr/bin/python3 bench/worker_cpu.py --asgi --rounds 5 --seconds 4
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loadgen  # noqa: E402
import stacks  # noqa: E402
from stacks import APPS_DIR, HEARTHD, PYTHON, Server, free_port  # noqa: E402


def cpu_ns(pids):
    """Sum of the CPU time (ns) of every thread of PIDS (from schedstat; gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


# -- the stacks, one worker each --------------------------------------------------------------

def start_hearthd(module, workdir, interface, runtime=None):
    """``runtime``: another worker runtime directory ($HEARTH_RUNTIME_DIR, e.g. an older
    checkout's plugins/python) for a before/after comparison."""
    port = free_port()
    s = Server("hearthd", f"http://127.0.0.1:{port}/", workdir)
    conf = s.write("hearth.toml", '[log]\naccess_log = ""\n')
    s.spawn("hearthd", [HEARTHD, f"{module}:application", "--chdir", APPS_DIR, "--python", PYTHON,
                        "-b", f"127.0.0.1:{port}", "-w", "1", "--preload", "-c", conf,
                        "--interface", interface,
                        "--control-socket", os.path.join(workdir, "ctl.sock"),
                        *(["--allow-root"] if os.geteuid() == 0 else [])],
            env={"HEARTH_RUNTIME_DIR": runtime} if runtime else None)
    return s


def start_uvicorn(module, workdir):
    port = free_port()
    s = Server("uvicorn", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("uvicorn", [PYTHON, "-m", "uvicorn", "--loop", "uvloop",
                        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                        "--app-dir", APPS_DIR, f"{module}:application"], cwd=APPS_DIR)
    return s


def start_uwsgi(module, workdir):
    port = free_port()
    s = Server("uwsgi", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("uwsgi", ["uwsgi", "--plugin", "python3", "--processes", "1", "--chdir", APPS_DIR,
                      "--module", f"{module}:application", "--need-app", "--die-on-term",
                      "--disable-logging", "--http-socket", f"127.0.0.1:{port}"])
    return s


def worker_pids(server):
    """(worker pids, front pids) of a running stack."""
    root = server.procs[0][1].pid
    if server.name == "hearthd":
        return [p for p in server.pids() if p != root], [root]
    return [root], []


# -- measuring -----------------------------------------------------------------------------

def wrk(url, seconds):
    argv = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", url]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    out = loadgen.parse_wrk(r.stdout)
    if out["requests"] is None:
        raise RuntimeError(f"wrk gave no result:\n{r.stdout}{r.stderr}")
    if out["non2xx"]:
        raise RuntimeError(f"{out['non2xx']} non-2xx responses from {url}")
    return out["requests"]


def measure(start, rounds, seconds):
    """[(worker us/req, front us/req)] for ROUNDS bounded loads on one started stack."""
    with tempfile.TemporaryDirectory(prefix="worker_cpu.") as workdir:
        server = start(workdir)
        try:
            server.wait_ready()
            time.sleep(0.5)  # the worker(s) settle (hearthd forks after the zygote is ready)
            workers, front = worker_pids(server)
            wrk(server.url, 1)  # warm-up
            out = []
            for _ in range(rounds):
                w0, f0 = cpu_ns(workers), cpu_ns(front)
                n = wrk(server.url, seconds)
                w1, f1 = cpu_ns(workers), cpu_ns(front)
                out.append(((w1 - w0) / n / 1000.0, (f1 - f0) / n / 1000.0, n))
            return out
        finally:
            left = server.stop()
            if left:
                print(f"  warning: {server.name} left PIDs {left}", file=sys.stderr)


def row(label, samples):
    w = statistics.median(s[0] for s in samples)
    f = statistics.median(s[1] for s in samples)
    each = ", ".join("%.1f" % s[0] for s in samples)
    front = "  front %.1f us/req" % f if f else ""
    print(f"  {label:<34} worker {w:6.1f} us/req  ({each}){front}", flush=True)
    return w


def compare(title, ours, peer, rounds, seconds, before=None):
    print(title, flush=True)
    if before is not None:
        row(before[0], measure(before[1], rounds, seconds))
    a = row(ours[0], measure(ours[1], rounds, seconds))
    b = row(peer[0], measure(peer[1], rounds, seconds))
    print(f"  => hearthd worker / peer worker CPU per request: {a / b:.2f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--asgi", action="store_true", help="only the ASGI comparison (FastAPI)")
    ap.add_argument("--wsgi", action="store_true", help="only the WSGI comparison (Flask)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4, help="length of each bounded wrk load")
    ap.add_argument("--before", metavar="DIR",
                    help="also run hearthd with the worker runtime in DIR ($HEARTH_RUNTIME_DIR: e.g. "
                         "plugins/python of an older checkout), for a before/after row")
    args = ap.parse_args()
    both = not args.asgi and not args.wsgi
    if not os.path.exists(HEARTHD):
        sys.exit(f"no hearthd at {HEARTHD}: build first (or set $HEARTHD)")
    if args.asgi or both:
        ok, why = stacks.available_asgi("uvicorn")
        if not ok:
            print(f"ASGI: skipped ({why})")
        else:
            compare("FastAPI JSON (bench/apps/fastapi_app.py), 1 worker, wrk -t1 -c16:",
                    ("hearthd --interface asgi", lambda d: start_hearthd("fastapi_app", d, "asgi")),
                    ("uvicorn --loop uvloop", lambda d: start_uvicorn("fastapi_app", d)),
                    args.rounds, args.seconds,
                    before=("hearthd, runtime --before", lambda d: start_hearthd(
                        "fastapi_app", d, "asgi", args.before)) if args.before else None)
    if args.wsgi or both:
        ok, why = stacks.available("uwsgi-http-socket")
        for module in ("flask_hello", "flask_json"):
            if not ok:
                print(f"WSGI: skipped ({why})")
                break
            compare(f"{module} (bench/apps/{module}.py), 1 worker, wrk -t1 -c16:",
                    ("hearthd", lambda d, m=module: start_hearthd(m, d, "wsgi")),
                    ("uwsgi --http-socket", lambda d, m=module: start_uwsgi(m, d)),
                    args.rounds, args.seconds,
                    before=("hearthd, runtime --before", lambda d, m=module: start_hearthd(
                        m, d, "wsgi", args.before)) if args.before else None)


if __name__ == "__main__":
    main()

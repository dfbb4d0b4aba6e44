"""Process bookkeeping for the benchmark: trees, memory, CPU time, and stopping by PID.

Everything here reads /proc; nothing is ever found or killed by name.
"""
import os
import signal
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain ") ".
    return data[data.rindex(b")") + 2:].split()


def is_alive(pid):
    """True while PID exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != b"Z"


def _children_map():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def session_of(pid):
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[3])


def tree(roots, sessions=()):
    """PIDs of ROOTS and all their descendants, plus every process in one of SESSIONS.

    SESSIONS covers servers that detach part of themselves from their parent
    (Passenger's watchdog double-forks and calls setsid)."""
    children = _children_map()
    found = set()
    stack = [p for p in roots if is_alive(p)]
    if sessions:
        wanted = set(sessions)
        for pid in list(children.get(1, [])) + [p for kids in children.values() for p in kids]:
            if pid not in found and session_of(pid) in wanted:
                stack.append(pid)
    while stack:
        pid = stack.pop()
        if pid in found or not is_alive(pid):
            continue
        found.add(pid)
        stack.extend(children.get(pid, []))
    return sorted(found)


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    """Resident KiB of one process: `Rss:` of /proc/PID/smaps_rollup, the exact sum over its
    mappings. VmRSS in /proc/PID/status is read from per-CPU counters and can be off by
    hundreds of KiB (kernel 6.x; seen here 544 KiB under the smaps sum of an idle hearthd),
    too much for the 8 MiB idle target; VmRSS only when smaps_rollup cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return _status_kib(pid, "VmRSS")


def pss_kib(pid):
    """Proportional set size of one process from smaps_rollup (0 if gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(pids):
    return sum(pss_kib(p) for p in pids)


def cpu_ticks(pids):
    """utime + stime in clock ticks, per PID (processes already gone are left out)."""
    out = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            # After the name: state(0) ppid(1) ... utime is field 14 of stat, index 11 here.
            out[pid] = int(fields[11]) + int(fields[12])
    return out


def cpu_seconds_between(before, after):
    """CPU seconds spent between two cpu_ticks() snapshots; a process born in between counts whole."""
    ticks = 0
    for pid, t in after.items():
        ticks += t - before.get(pid, 0)
    return ticks / CLK_TCK


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def stop_pid(pid, deadline=10.0, sig=signal.SIGTERM):
    """Send SIG to PID, wait up to DEADLINE seconds, then SIGKILL. True if it is gone."""
    if not is_alive(pid):
        return True
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if not is_alive(pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    end = time.monotonic() + 5.0
    while time.monotonic() < end:
        if not is_alive(pid):
            return True
        time.sleep(0.05)
    return not is_alive(pid)


def stop_popen(proc, deadline=10.0, sig=signal.SIGTERM):
    """Stop a child we started with subprocess.Popen, and reap it."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                pass
    return proc.poll() is not None


def stop_tree(root_proc, extra_pids=(), sessions=(), deadline=10.0, sig=signal.SIGTERM):
    """Stop a server: its main process first (graceful), then any straggler of its tree by PID.

    Returns the PIDs still alive afterwards (an empty list when all is well)."""
    members = tree([root_proc.pid, *extra_pids], sessions)
    stop_popen(root_proc, deadline, sig)
    for pid in extra_pids:
        stop_pid(pid, deadline, sig)
    # Whatever the master left behind (workers it failed to reap, detached helpers).
    leftovers = [p for p in tree(members, sessions) if p != root_proc.pid]
    for pid in leftovers:
        stop_pid(pid, 2.0, signal.SIGTERM)
    return [p for p in members if p != root_proc.pid and is_alive(p)]

"""Hold many idle keep-alive connections open against a server, in bounded batches.

Each connection sends one GET, reads the whole response, and then stays open, idle.
"""
import asyncio
import resource
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def ensure_nofile(needed):
    """Raise this process's soft RLIMIT_NOFILE (children inherit it); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


async def _open_one(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return reader, writer


async def _hold(port, count, batch, measure, deadline):
    conns, failures = [], 0
    end = time.monotonic() + deadline
    try:
        while len(conns) + failures < count and time.monotonic() < end:
            n = min(batch, count - len(conns) - failures)
            tasks = [asyncio.wait_for(_open_one(port), timeout=20) for _ in range(n)]
            for res in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(res, BaseException):
                    failures += 1
                else:
                    conns.append(res)
        await asyncio.sleep(1.0)  # let the server settle with every connection idle
        still_open = sum(1 for r, _ in conns if not r.at_eof())
        return measure(), still_open, failures
    finally:
        for _, w in conns:
            w.close()
        await asyncio.sleep(0.2)


def hold_idle(port, count, measure, batch=500, deadline=120.0):
    """Open COUNT idle keep-alive connections, call MEASURE() while they are held.

    Returns (MEASURE's result, connections still open at measurement, connections that failed)."""
    return asyncio.run(_hold(port, count, batch, measure, deadline))

"""Markdown tables and docs/benchmarks.md from the results run.py collected."""

NA = "n/a (not implemented)"


def _fmt(v, digits=0, suffix=""):
    if v is None:
        return "-"
    if digits == 0:
        return f"{v:,.0f}{suffix}"
    return f"{v:,.{digits}f}{suffix}"


def _ratio(v, best):
    if v is None or not best:
        return "-"
    return f"{v / best:.2f}x"


def _best(rows, key, higher):
    vals = [r[key] for n, r in rows.items() if n != "hearthd" and r.get(key) is not None and "error" not in r]
    if not vals:
        return None
    return max(vals) if higher else min(vals)


def _errors(r):
    if r.get("errors") is None:
        return "-"
    if not r["errors"]:
        return "0"
    parts = []
    if r.get("non2xx"):
        parts.append(f"non-2xx/3xx {r['non2xx']:,}")
    if r.get("sock_errors"):
        parts.append(f"socket: {r['sock_detail']}")
    return f"{r['errors']:,} ({'; '.join(parts)})"


def app_table(app):
    rows = app["rows"]
    best = {
        "rps": _best(rows, "rps", True),
        "p50": _best(rows, "p50", False),
        "p99": _best(rows, "p99", False),
        "cpu_us_per_req": _best(rows, "cpu_us_per_req", False),
        "pss_kib": _best(rows, "pss_kib", False),
    }
    lines = [
        "| stack | req/s | x best peer | p50 ms | x | p99 ms | x | errors | CPU us/req | x | "
        "tree PSS MiB | x | tree USS MiB | procs | req/s per round |",
        "|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for name, r in rows.items():
        if "error" in r and r.get("rps") is None:
            lines.append(f"| {r['label']} | failed: {r['error']} |" + " |" * 14)
            continue
        pss = r.get("pss_kib")
        uss = r.get("uss_kib")
        per_round = " / ".join(_fmt(x) for x in r.get("rounds_rps", []))
        lines.append(
            f"| {r['label']} | {_fmt(r.get('rps'))} | {_ratio(r.get('rps'), best['rps'])} "
            f"| {_fmt(r.get('p50'), 2)} | {_ratio(r.get('p50'), best['p50'])} "
            f"| {_fmt(r.get('p99'), 2)} | {_ratio(r.get('p99'), best['p99'])} "
            f"| {_errors(r)} "
            f"| {_fmt(r.get('cpu_us_per_req'), 1)} | {_ratio(r.get('cpu_us_per_req'), best['cpu_us_per_req'])} "
            f"| {_fmt(pss / 1024 if pss else None, 1)} | {_ratio(pss, best['pss_kib'])} "
            f"| {_fmt(uss / 1024 if uss else None, 1)} | {r.get('nprocs', '-')} | {per_round} |")
    return "\n".join(lines)


def extras_table(results):
    sh = results.get("static_h2")
    if sh is None:
        return ""
    lines = [
        "| row | server | req/s | x best peer | p50 ms | p99 ms | mean ms | errors | CPU us/req |",
        "|---|---|--:|--:|--:|--:|--:|---|--:|",
    ]
    st = sh.get("nginx-static")
    if st:
        lines.append(f"| static 4 KB file (wrk) | nginx 1 worker | {_fmt(st['rps'])} | 1.00x "
                     f"| {_fmt(st['p50'], 2)} | {_fmt(st['p99'], 2)} | - | {_errors(st)} "
                     f"| {_fmt(st['cpu_us_per_req'], 1)} |")
    hs = sh.get("hearthd-static")
    if hs:
        lines.append(f"| static 4 KB file (wrk) | **hearthd** `--static` | {_fmt(hs['rps'])} "
                     f"| {_ratio(hs['rps'], st['rps'] if st else None)} "
                     f"| {_fmt(hs['p50'], 2)} | {_fmt(hs['p99'], 2)} | - | {_errors(hs)} "
                     f"| {_fmt(hs['cpu_us_per_req'], 1)} |")
    else:
        lines.append(f"| static 4 KB file (wrk) | **hearthd** | {NA} | - | - | - | - | - | - |")
    sts, hts = sh.get("nginx-static-https"), sh.get("hearthd-static-https")
    if sts:
        lines.append(f"| static 4 KB file over HTTPS, keep-alive (wrk) | nginx 1 worker `ssl`{_tls(sts)} "
                     f"| {_fmt(sts['rps'])} | 1.00x | {_fmt(sts['p50'], 2)} | {_fmt(sts['p99'], 2)} | - "
                     f"| {_errors(sts)} | {_fmt(sts['cpu_us_per_req'], 1)} |")
    if hts:
        lines.append(f"| static 4 KB file over HTTPS, keep-alive (wrk) | **hearthd** `--static` "
                     f"`--certfile`{_tls(hts)} | {_fmt(hts['rps'])} "
                     f"| {_ratio(hts['rps'], sts['rps'] if sts else None)} "
                     f"| {_fmt(hts['p50'], 2)} | {_fmt(hts['p99'], 2)} | - | {_errors(hts)} "
                     f"| {_fmt(hts['cpu_us_per_req'], 1)} |")
    elif sts:
        lines.append(f"| static 4 KB file over HTTPS, keep-alive (wrk) | **hearthd** | {NA} | - | - | - | - | - | - |")
    h2 = sh.get("nginx-h2-uwsgi")
    if h2:
        lines.append(f"| HTTP/2 h2c, hello app (h2load) | nginx `http2` -> `uwsgi_pass` -> uWSGI "
                     f"| {_fmt(h2['rps'])} | 1.00x | - | - | {_fmt(h2['mean'], 2)} | {_errors(h2)} "
                     f"| {_fmt(h2['cpu_us_per_req'], 1)} |")
    hd = sh.get("hearthd-h2")
    if hd:
        lines.append(f"| HTTP/2 h2c, hello app (h2load) | **hearthd** | {_fmt(hd['rps'])} "
                     f"| {_ratio(hd['rps'], h2['rps'] if h2 else None)} | - | - | {_fmt(hd['mean'], 2)} "
                     f"| {_errors(hd)} | {_fmt(hd['cpu_us_per_req'], 1)} |")
    else:
        lines.append(f"| HTTP/2 h2c, hello app (h2load) | **hearthd** | {NA} | - | - | - | - | - | - |")
    return "\n".join(lines)


def _tls(row):
    """`, TLSv1.3 TLS_AES_256_GCM_SHA384`: what a default OpenSSL client negotiated with the row's server."""
    return f", {row['tls']}" if row.get("tls") else ""


def idle_table(results):
    idle = results.get("idle")
    hello = results["apps"].get("hello", {}).get("rows", {})
    lines = ["| measurement | hearthd | nginx | hearthd / nginx |", "|---|--:|--:|--:|"]
    h = hello.get("hearthd", {})
    if h.get("daemon_rss_kib"):
        lines.append(f"| hearthd daemon process alone, RSS idle after warm-up (hello app, 2 workers) "
                     f"| {h['daemon_rss_kib'] / 1024:.1f} MiB | - | - |")
    if idle is None:
        return "\n".join(lines)
    if "error" in idle:
        lines.append(f"| {idle['count']:,} idle keep-alive connections | {idle['error']} | | |")
        return "\n".join(lines)
    hd, ng = idle.get("hearthd", {}), idle.get("nginx", {})

    def cell(d, key):
        if "error" in d:
            return "failed: " + d["error"]
        return f"{d[key] / 1024:.1f} MiB" if key in d else "-"

    def ratio(key):
        if key in hd and key in ng and ng[key]:
            return f"{hd[key] / ng[key]:.2f}x"
        return "-"

    lines.append(f"| front process RSS, idle (hearthd: daemon only; nginx: master + worker) "
                 f"| {cell(hd, 'idle_rss_kib')} | {cell(ng, 'idle_rss_kib')} | {ratio('idle_rss_kib')} |")
    lines.append(f"| front process RSS holding {idle['count']:,} idle keep-alive connections "
                 f"| {cell(hd, 'held_rss_kib')} | {cell(ng, 'held_rss_kib')} | {ratio('held_rss_kib')} |")

    def per_conn(d):
        if "held_rss_kib" not in d or not d.get("open"):
            return "-"
        return f"{(d['held_rss_kib'] - d['idle_rss_kib']) * 1024 / d['open']:,.0f} B"

    lines.append(f"| RSS growth per idle connection | {per_conn(hd)} | {per_conn(ng)} | - |")
    lines.append(f"| connections still open at measurement / failed to open "
                 f"| {hd.get('open', '-')} / {hd.get('failed', '-')} | {ng.get('open', '-')} / {ng.get('failed', '-')} | - |")
    return "\n".join(lines)


def targets_table(results):
    """The ratios issue 7 names, as measured in this run (no rounding toward a verdict)."""
    apps = results["apps"]
    out = ["| issue 7 target | measured | met |", "|---|--:|---|"]

    def r(app, stack, key):
        row = apps.get(app, {}).get("rows", {}).get(stack, {})
        return row.get(key)

    def line(text, num, den, want, higher=True):
        if num is None or not den:
            out.append(f"| {text} | - | - |")
            return
        v = num / den
        ok = v >= want if higher else v <= want
        out.append(f"| {text} | {v:.3f}x | {'yes' if ok else 'no'} |")

    line("hello req/s: hearthd >= 1.0x uWSGI `--http-socket`",
         r("hello", "hearthd", "rps"), r("hello", "uwsgi-http-socket", "rps"), 1.0)
    line("hello req/s: hearthd >= 1.3x uWSGI `--http`",
         r("hello", "hearthd", "rps"), r("hello", "uwsgi-http", "rps"), 1.3)
    line("hello req/s: hearthd >= 3x gunicorn",
         r("hello", "hearthd", "rps"), r("hello", "gunicorn", "rps"), 3.0)
    line("Flask req/s: hearthd >= 1.1x uWSGI `--http-socket`",
         r("flask", "hearthd", "rps"), r("flask", "uwsgi-http-socket", "rps"), 1.1)
    for app in ("hello", "flask"):
        rows = apps.get(app, {}).get("rows", {})
        best = _best(rows, "p99", False) if rows else None
        line(f"{app} p99: hearthd <= best peer's", r(app, "hearthd", "p99"), best, 1.0, higher=False)
    uw = r("hello", "uwsgi-http-socket", "pss_kib")
    line("idle tree PSS (hello): hearthd <= 0.9x uWSGI `--http-socket`",
         r("hello", "hearthd", "pss_kib"), uw, 0.9, higher=False)
    d = r("hello", "hearthd", "daemon_rss_kib")
    if d:
        out.append(f"| hearthd daemon alone < 8 MiB RSS idle | {d / 1024:.1f} MiB | {'yes' if d < 8 * 1024 else 'no'} |")
    sh = results.get("static_h2", {})
    hs, ng = sh.get("hearthd-static"), sh.get("nginx-static")
    if hs and ng:
        line("static 4 KB >= 0.9x nginx", hs["rps"], ng["rps"], 0.9)
    else:
        out.append(f"| static 4 KB >= 0.9x nginx | {NA} | no |")
    return "\n".join(out)


def _peer_best(apps, app, stacks_, key, higher=True):
    """The best of a peer's variants (uWSGI with and without an announced close): the peer at its best."""
    vals = []
    for st in stacks_:
        row = apps.get(app, {}).get("rows", {}).get(st, {})
        if row.get(key) is not None and "error" not in row:
            vals.append((row[key], st))
    if not vals:
        return None, None
    return max(vals) if higher else min(vals)


UWSGI_HS = ("uwsgi-http-socket", "uwsgi-http-socket-close")


def targets14_table(results):
    """Issue 14's targets as ratios measured in this run, each with met / not met.

    uWSGI `--http-socket` is taken at its best: the better of its two rows (closing without
    announcing it, and with `--add-header "Connection: close"`); the ratio names which."""
    apps = results["apps"]
    out = ["| issue 14 target | hearthd | peer | ratio | met |", "|---|--:|--:|--:|---|"]

    def hd(app, key):
        return apps.get(app, {}).get("rows", {}).get("hearthd", {}).get(key)

    def row(text, mine, peer, want, higher=True, fmt=_fmt, peer_name=""):
        if mine is None or not peer:
            out.append(f"| {text} | {fmt(mine) if mine is not None else '-'} | {fmt(peer) if peer else '-'} "
                       f"| - | not measured |")
            return
        v = mine / peer
        ok = v >= want if higher else v <= want
        name = f" ({peer_name})" if peer_name else ""
        out.append(f"| {text} | {fmt(mine)} | {fmt(peer)}{name} | {v:.2f}x | {'met' if ok else 'not met'} |")

    def label(st):
        return "announced close" if st and st.endswith("-close") else "unannounced close"

    v, st = _peer_best(apps, "hello", UWSGI_HS, "rps")
    row("raw hello req/s >= 1.0x uWSGI `--http-socket`", hd("hello", "rps"), v, 1.0, peer_name=label(st))
    v, st = _peer_best(apps, "hello", ("gunicorn",), "rps")
    row("raw hello req/s >= 3x gunicorn sync", hd("hello", "rps"), v, 3.0)
    for app, text in (("flask", "Flask hello"), ("json", "Flask JSON")):
        v, st = _peer_best(apps, app, UWSGI_HS, "rps")
        row(f"{text} req/s >= 1.1x uWSGI `--http-socket`", hd(app, "rps"), v, 1.1, peer_name=label(st))
    v, st = _peer_best(apps, "big", UWSGI_HS, "rps")
    row("100 KB response req/s >= 1.0x uWSGI `--http-socket`", hd("big", "rps"), v, 1.0, peer_name=label(st))
    v, st = _peer_best(apps, "upload", UWSGI_HS, "rps")
    row("1 MiB upload req/s >= 1.0x uWSGI `--http-socket`", hd("upload", "rps"), v, 1.0, peer_name=label(st))
    for app, text in (("hello", "raw hello"), ("flask", "Flask hello")):
        v, st = _peer_best(apps, app, UWSGI_HS, "p99", higher=False)
        row(f"{text} p99 ms <= uWSGI `--http-socket`'s", hd(app, "p99"), v, 1.0, higher=False,
            fmt=lambda x: _fmt(x, 2), peer_name=label(st))
    sh = results.get("static_h2", {})
    hs, ng = sh.get("hearthd-static"), sh.get("nginx-static")
    row("static 4 KB req/s >= 1.0x nginx (1 worker each)", hs["rps"] if hs else None, ng["rps"] if ng else None, 1.0)
    hts, ngts = sh.get("hearthd-static-https"), sh.get("nginx-static-https")
    if hts or ngts:
        row("static 4 KB over HTTPS (keep-alive) >= 1.0x nginx", hts["rps"] if hts else None,
            ngts["rps"] if ngts else None, 1.0)
    else:
        out.append("| static 4 KB over HTTPS (keep-alive) >= 1.0x nginx | - | - | - | not measured "
                   "(this bench has no HTTPS row yet) |")
    idle = results.get("idle") or {}
    h = idle.get("hearthd", {}) if isinstance(idle, dict) else {}
    if h.get("open") and "held_rss_kib" in h:
        per = (h["held_rss_kib"] - h["idle_rss_kib"]) * 1024 / h["open"]
        n = idle.get("nginx", {})
        nper = (n["held_rss_kib"] - n["idle_rss_kib"]) * 1024 / n["open"] if n.get("open") and "held_rss_kib" in n else None
        out.append(f"| daemon RSS per idle keep-alive connection <= 600 B | {per:,.0f} B "
                   f"| {f'{nper:,.0f} B (nginx)' if nper else '-'} | - | {'met' if per <= 600 else 'not met'} |")
    else:
        out.append("| daemon RSS per idle keep-alive connection <= 600 B | - | - | - | not measured |")
    d = hd("hello", "daemon_rss_kib") or h.get("idle_rss_kib")
    if d:
        out.append(f"| daemon idle RSS < 8 MiB | {d / 1024:.2f} MiB | - | - | {'met' if d < 8 * 1024 else 'not met'} |")
    else:
        out.append("| daemon idle RSS < 8 MiB | - | - | - | not measured |")
    ins = results.get("instructions") or {}
    mine, ngx = ins.get("hearthd"), ins.get("nginx-uwsgi")
    if mine is not None:
        ratio = f"{mine / ngx:.2f}x nginx" if ngx else "-"
        out.append(f"| daemon instructions per proxied request <= 13,000 (callgrind, [profile.md](profile.md)) "
                   f"| {mine:,.0f} | {f'{ngx:,.0f} (nginx `uwsgi_pass`)' if ngx else 'nginx: not measured'} "
                   f"| {ratio} | {'met' if mine <= 13000 else 'not met'} |")
    else:
        why = ins.get("error") or ins.get("hearthd_error") or "not run (--no-instructions or --quick)"
        out.append(f"| daemon instructions per proxied request <= 13,000 | - | - | - | not measured: {why} |")
    return "\n".join(out)


def ws_table(ws):
    """WebSocket echo: messages per second and round trips, ratios to the best peer (uvicorn)."""
    rows = ws["rows"]
    if ws.get("error"):
        return f"not measured: {ws['error']}"
    best = {k: _best(rows, k, k == "mps") for k in ("mps", "p50", "p99", "cpu_us_per_msg")}
    lines = ["| stack | messages/s | x best peer | p50 ms | x | p99 ms | x | errors | server CPU us/msg | x "
             "| connections open | client CPU (share of a core) | messages/s per round |",
             "|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|---|"]
    for name, r in rows.items():
        if "error" in r and r.get("mps") is None:
            lines.append(f"| {r['label']} | failed: {r['error']} |" + " |" * 11)
            continue
        errs = "0" if not r.get("errors") else f"{r['errors']:,} ({r.get('first_error', '')})"
        share = r.get("client_cpu_share")
        lines.append(
            f"| {r['label']} | {_fmt(r.get('mps'))} | {_ratio(r.get('mps'), best['mps'])} "
            f"| {_fmt(r.get('p50'), 2)} | {_ratio(r.get('p50'), best['p50'])} "
            f"| {_fmt(r.get('p99'), 2)} | {_ratio(r.get('p99'), best['p99'])} | {errs} "
            f"| {_fmt(r.get('cpu_us_per_msg'), 1)} | {_ratio(r.get('cpu_us_per_msg'), best['cpu_us_per_msg'])} "
            f"| {r.get('opened', '-')} | {_fmt(share * 100 if share is not None else None, 0, '%')} "
            f"| {' / '.join(_fmt(x) for x in r.get('rounds_mps', []))} |")
    return "\n".join(lines)


def sse_table(sse):
    rows = sse["rows"]
    lines = ["| stack | requests | first event p50 ms | p99 ms | max ms | <= 50 ms (p99) | errors |",
             "|---|--:|--:|--:|--:|---|---|"]
    for name, r in rows.items():
        if "error" in r and r.get("p50") is None:
            lines.append(f"| {r['label']} | failed: {r['error']} |" + " |" * 5)
            continue
        p99 = r.get("p99")
        met = "-" if p99 is None else ("yes" if p99 <= 50 else "no")
        errs = "0" if not r.get("errors") else f"{r['errors']:,} ({r.get('first_error', '')})"
        lines.append(f"| {r['label']} | {r.get('requests', 0):,} | {_fmt(r.get('p50'), 2)} | {_fmt(p99, 2)} "
                     f"| {_fmt(r.get('max'), 2)} | {met} | {errs} |")
    return "\n".join(lines)


def targets17_table(results):
    """Issue 17's targets as ratios measured in this run."""
    out = ["| issue 17 target | hearthd | peer | ratio | met |", "|---|--:|--:|--:|---|"]
    fa = results["apps"].get("fastapi", {}).get("rows", {})

    def row(text, mine, peer, want, higher=True, digits=0):
        if mine is None or not peer:
            out.append(f"| {text} | {_fmt(mine, digits)} | {_fmt(peer, digits)} | - | not measured |")
            return
        v = mine / peer
        ok = v >= want if higher else v <= want
        out.append(f"| {text} | {_fmt(mine, digits)} | {_fmt(peer, digits)} | {v:.2f}x | {'met' if ok else 'not met'} |")

    def get(rows, stack, key):
        r = rows.get(stack, {})
        return None if ("error" in r and r.get(key) is None) else r.get(key)

    hd = get(fa, "hearthd", "rps")
    row("FastAPI JSON req/s >= 1.2x uvicorn `--workers 2 --loop uvloop`", hd, get(fa, "uvicorn", "rps"), 1.2)
    row("FastAPI JSON req/s > hypercorn (2 workers)", hd, get(fa, "hypercorn", "rps"), 1.0 + 1e-9)
    row("FastAPI JSON req/s > gunicorn `-k uvicorn.workers.UvicornWorker`", hd,
        get(fa, "gunicorn-uvicorn", "rps"), 1.0 + 1e-9)
    ws = (results.get("ws") or {}).get("rows", {})
    row("WebSocket echo (64 connections) messages/s >= 1.0x uvicorn", get(ws, "hearthd", "mps"),
        get(ws, "uvicorn", "mps"), 1.0)
    row("WebSocket echo p99 round trip <= uvicorn's", get(ws, "hearthd", "p99"), get(ws, "uvicorn", "p99"),
        1.0, higher=False, digits=2)
    sse = (results.get("sse") or {}).get("rows", {})
    p99 = get(sse, "hearthd", "p99")
    if p99 is None:
        out.append("| first streamed event reaches the client <= 50 ms after the app sent it (p99) | - | - | - "
                   "| not measured |")
    else:
        peer = get(sse, "uvicorn", "p99")
        out.append(f"| first streamed event reaches the client <= 50 ms after the app sent it (p99) "
                   f"| {p99:.2f} ms | {_fmt(peer, 2)} ms (uvicorn) | - | {'met' if p99 <= 50 else 'not met'} |")
    return "\n".join(out)


def has_asgi(results):
    return "fastapi" in results["apps"] or results.get("ws") is not None or results.get("sse") is not None


def tables(results):
    parts = []
    for key, app in results["apps"].items():
        parts.append(f"### {app['title']}\n\n{app_table(app)}\n")
    if results.get("ws") is not None:
        parts.append(f"### {results['ws']['title']}\n\n{ws_table(results['ws'])}\n")
    if results.get("sse") is not None:
        parts.append(f"### {results['sse']['title']}\n\n{sse_table(results['sse'])}\n")
    if has_asgi(results):
        parts.append(f"### Issue 17 targets (ASGI), as measured in this run\n\n{targets17_table(results)}\n")
    ex = extras_table(results)
    if ex:
        parts.append(f"### Static file and HTTP/2\n\n{ex}\n")
    if results.get("idle") is not None or "hello" in results["apps"]:
        parts.append(f"### Idle memory\n\n{idle_table(results)}\n")
    if results["skipped"]:
        parts.append("Skipped: " + "; ".join(f"{k} ({v})" for k, v in results["skipped"].items()) + "\n")
    return "\n".join(parts)


def _configs_section(results):
    """The exact commands and generated configs, from the first app's run."""
    lines = []
    first = next(iter(results["apps"].values()), None)
    if first is None:
        return ""
    for name, r in first["rows"].items():
        if not r.get("commands"):
            continue
        lines.append(f"**{r['label'].strip('*')}**\n")
        lines.append("```")
        lines.extend(r["commands"])
        lines.append("```")
        for fname, text in r.get("configs", {}).items():
            lines.append(f"`{fname}`:\n\n```\n{text.rstrip()}\n```")
        lines.append("")
    asgi = results["apps"].get("fastapi")
    if asgi is not None and asgi is not first:
        for name, r in asgi["rows"].items():
            if r.get("commands"):
                lines.append(f"{r['label']}, ASGI rows:\n\n```\n" + "\n".join(r["commands"]) + "\n```\n")
    for key, label in (("nginx-static", "nginx, static 4 KB file"), ("hearthd-static", "hearthd, static 4 KB file"),
                       ("nginx-static-https", "nginx, static 4 KB file over HTTPS"),
                       ("hearthd-static-https", "hearthd, static 4 KB file over HTTPS"),
                       ("nginx-h2-uwsgi", "nginx, HTTP/2 row")):
        d = results.get("static_h2", {}).get(key)
        if d:
            lines.append(f"**{label}**\n\n```\n" + "\n".join(d["commands"]) + "\n```")
            for fname, text in d.get("configs", {}).items():
                lines.append(f"`{fname}`:\n\n```\n{text.rstrip()}\n```")
            lines.append("")
    return "\n".join(lines)


def _idle_configs(results):
    lines = []
    for name, d in (results.get("idle") or {}).items():
        if isinstance(d, dict) and d.get("commands"):
            lines.append(f"**{name}, idle connections row**\n\n```\n" + "\n".join(d["commands"]) + "\n```")
            for fname, text in d.get("configs", {}).items():
                lines.append(f"`{fname}`:\n\n```\n{text.rstrip()}\n```")
            lines.append("")
    return "\n".join(lines)


ASGI_METHOD = """
### ASGI rows (issue 17)

- One app, `bench/apps/fastapi_app.py` (FastAPI), for every ASGI stack; `bench/run.py --asgi-only`
  runs these rows alone (`--apps fastapi`, `--apps ws`, `--apps sse` one at a time).
- Stacks, 2 worker processes each, each worker one event loop: hearthd `--interface asgi`
  (uvloop, `concurrency` 100, `--preload`), `uvicorn --workers 2 --loop uvloop --no-access-log`,
  `hypercorn --workers 2 --worker-class uvloop`, and
  `gunicorn -w 2 -k uvicorn.workers.UvicornWorker --preload`. Debian 12 has no `httptools`, so
  uvicorn parses HTTP with h11 (pure Python) in both of its rows. A peer that is not importable
  is skipped and named below the tables.
- **FastAPI JSON endpoint**: `GET /` returns a small dict (FastAPI serialises it); the same wrk
  command, rounds, memory and CPU columns as the WSGI apps.
- **WebSocket echo**: hearthd and uvicorn only (the issue's comparison). `build/bin/hearth-ws-load`
  (`bench/tools/ws_echo_load.cc`, Beast's client, one thread, so it uses at most one of the two
  cores; its own CPU share is in the table) opens 64 connections to `/ws`, then on each sends a
  32-byte text message, waits for the echo and sends the next, for the run's duration. Messages
  per second count echoes received after all 64 connections were open; the round trip is from
  `write` to the echo read, per message.
- **First streamed event**: sequential HTTP/1.1 `GET /sse` (a new connection each, for the run's
  duration); the app's `StreamingResponse` yields a first event holding `time.monotonic_ns()`,
  sleeps 200 ms and yields a second. The client reads the same clock (CLOCK_MONOTONIC, shared by
  every process of the machine) when the first event's bytes arrive: the delay is what the server
  added between the app's `send()` and the client. Target: <= 50 ms (p99); a server that held the
  response to its end would show about 200 ms.
"""


def document(results, tables_md):
    m = results["machine"]
    a = results["args"]
    v = results["versions"]
    keep = []
    first = results["apps"].get("hello") or next(iter(results["apps"].values()), None)
    if first:
        for name, r in first["rows"].items():
            if r.get("keepalive"):
                keep.append(f"- {r['label']}: {r['keepalive']}")
    argv = " ".join(results["argv"]) or "(defaults)"
    if results.get("static_h2", {}).get("hearthd-h2"):
        h2_text = "hearthd answered h2c with prior knowledge, so it is measured with the same h2load command."
    else:
        h2_text = ("hearthd did not answer h2c (prior knowledge) in this run (`h2load -n1 -c1` probe), "
                   "so its cell is n/a.")
    return f"""# Benchmarks: hearthd against the Python fronts a user would pick instead

Generated by `bench/run.py` ({argv}) on {results['date']}; the whole run took
{results['elapsed_s'] / 60:.1f} minutes. Regenerate with `make bench` (see [Reproduce](#reproduce)).
{''.join(chr(10) + '> ' + n + chr(10) for n in results.get('notes', []))}
**Read the ratios, not the absolute numbers.** The load generator shares the machine's
{m['cores']} cores with the server under test, so every figure depends on both. Ratios are to
the best *peer* (every stack except hearthd) in the same run; for req/s higher is better, for
latency, CPU per request and memory lower is better.

## Machine and versions

- {m['os']}, kernel {m['kernel']}, {m['cores']} cores ({m['cpu']}), {m['mem']} RAM
- Load average (1, 5, 15 min) when the run started: {results.get('loadavg_start', '?')}; when it
  ended: {results.get('loadavg_end', '?')}. The machine is shared with other builds and test runs,
  which is why the rounds are interleaved and the per-round req/s are shown.
{chr(10).join(f'- {k}: {val}' for k, val in v.items())}
- Passenger availability: Debian 12 packages it (`passenger` 6.0.17), so it is included, with its builtin
  engine (its default engine is an nginx it would download and compile, which this offline run cannot do).

## Method

- Apps (in `bench/apps/`): raw WSGI hello, Flask hello, Flask JSON (a small dict through `jsonify`),
  a 100 KB response (raw WSGI), and a 1 MiB POST upload (`bench/post_1mb.lua`; the raw WSGI app
  reads the whole body and returns its length).
- Every stack: 2 worker processes, sync (one request at a time per worker), the app preloaded
  in the master before forking where the server supports it (uWSGI does by default without
  `--lazy-apps`, gunicorn `--preload`, hearthd `--preload`; Passenger has no preloader for
  Python, so each of its 2 processes imports the app itself). Access logs are off for every
  stack (uWSGI `--disable-logging`, nginx `access_log off`, hearthd `[log] access_log = ""`;
  gunicorn and Passenger's builtin engine log no requests by default).
- Client, identical for every stack: `wrk -t2 -c64 -d{a['duration']}s --latency URL` (plus
  `-s bench/post_1mb.lua` for the upload), on 127.0.0.1.
- For each app: each stack is started **alone**, warmed up ({a['warmup']} s of the same wrk load), and
  its idle memory is read 1 s later: PSS (and USS = private pages) summed over
  `/proc/PID/smaps_rollup` of the whole process tree (master, zygote, workers, router, nginx,
  Passenger's ruby front end with the `tail -f` of its log it runs, watchdog, core and
  temp-dir toucher). Then all stacks are started together,
  warmed up, and loaded in {a['rounds']} interleaved rounds (A B C ... A B C ...); the table shows
  the median of the rounds (req/s, p50, p99 and CPU per request separately) and each round's req/s
  so drift shows.
- Errors: wrk's "Non-2xx or 3xx responses" plus its socket errors (connect, read, write, timeout),
  summed over the rounds. wrk counts a server closing a connection without announcing it
  (no `Connection: close`) as a read error, after it has counted the complete response: the
  read errors of the uWSGI rows are of that kind (about one per request, see keep-alive below),
  not failed requests.
- CPU per request: the sum of utime + stime (`/proc/PID/stat`) of every process in the server's
  tree, after the run minus before, divided by the requests wrk completed. 10 ms tick resolution.
- nginx runs with `-p TMPDIR -c nginx.conf`, `daemon off; master_process on; worker_processes 1;`:
  one worker because the 2 cores are shared with wrk and the Python workers; `events {{ }}` keeps
  the default 512 worker connections (the idle-connection row raises it). Its master is
  stopped by the PID in its pid file (which is also the PID we started). nginx's default
  `client_max_body_size 1m` admits the 1 MiB upload (1,048,576 bytes), so it is left alone. As the bench
  runs as root, nginx's worker keeps `user root` so it can reach the backend's Unix socket in the
  0700 temp dir. nginx talks to uWSGI with `uwsgi_pass` and to gunicorn with `proxy_pass`
  (HTTP/1.0 to the upstream, a new upstream connection per request: nginx's defaults).
- Every process is stopped by PID (SIGTERM, then SIGKILL after a deadline) and checked gone.
- Static 4 KB file over HTTPS with keep-alive (issue 14): one self-signed EC P-256 certificate
  made at bench time (`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes`)
  for nginx (`listen ... ssl`, one worker, `ssl_protocols TLSv1.3`, `keepalive_requests 100000000`)
  and hearthd (`--static`, `--certfile/--keyfile`, `[tls] min_version = "1.3"`); the same wrk
  command against the https:// URL; default TLS 1.3 suites (the table names what was
  negotiated). The deterministic figure is `bench/profile.py --static-https-only`
  ([profile.md](profile.md) section 2).
{ASGI_METHOD}
### Keep-alive behaviour (probed: two requests on one connection, hello app)

{chr(10).join(keep) if keep else '- (not probed in this run)'}

A stack that closes after every response makes wrk reconnect for every request, so its
figures include a TCP handshake per request. uWSGI's HTTP modes do so without announcing it, so
wrk counts a read error per request and loses time reconnecting; their rows with
`--add-header "Connection: close"` announce the close and show the peer at its best. Both are
reported; issue 14's targets are judged against the better one.

## Results

{tables_md}
### Issue 14 targets, as measured in this run

{targets14_table(results)}

uWSGI's HTTP modes close the connection after every response; without a `Connection: close`
header wrk counts a read error per request and reconnects late, so each uWSGI HTTP stack runs
twice, as configured by default and with `--add-header "Connection: close"` (the close
announced), and a target is judged against the better of the two.

### Issue 7 targets, as measured in this run

{targets_table(results)}

Where hearthd's CPU time and memory go, and so why the unmet targets are unmet, is in
[profile.md](profile.md) (`make profile`: CPU per request by process, system calls per
request, the idle daemon's RSS by mapping, bytes per idle connection).

### What is n/a and why

- **Static files**: the 4 KB row is the same file from nginx (`root`, one worker, sendfile on by
  Debian's default) and from a hearthd `--static` mount (sendfile, no worker involved), both
  with wrk's keep-alive connections. A row without a figure means that server was not installed
  (or, for hearthd before static mounts existed, not implemented). The HTTPS row serves the same
  file over TLS with wrk's keep-alive connections: one self-signed EC P-256 certificate made at
  bench time for both, TLS 1.3 only on both (`ssl_protocols TLSv1.3`, `[tls] min_version = "1.3"`),
  suites left at their defaults (the row names what a default OpenSSL client negotiated), nginx
  `listen ... ssl` with one worker and `keepalive_requests 100000000` (hearthd has no per-connection
  request cap; with nginx's default wrk would redo a handshake every 1,000 requests).
- **HTTP/2**: {h2_text} The peer row is nginx terminating h2c (prior knowledge,
  `h2load -t2 -c64 -m1 -D {a['duration']}`) in front of uWSGI with the hello app. For this row
  only, nginx gets `keepalive_requests 100000000`: with the default (1000) nginx ends each HTTP/2
  connection with GOAWAY after 1000 requests and h2load does not reconnect, so the row would
  measure 64 x 1000 requests spread over the whole run (a flat 6,400 req/s), not nginx.
  (The HTTP/1.1 nginx rows keep the default: wrk reconnects after nginx's `Connection: close`.)
  h2load reports the mean and max request time rather than percentiles.
- **10,000 idle connections**: both servers get a 75 s keep-alive timeout for this row (nginx's
  default; hearthd's default is 5 s, shorter than the time it takes to open 10,000 connections and
  measure). Each connection sends one GET, reads the response and stays idle; the bench process
  raises its RLIMIT_NOFILE soft limit (children inherit it) and opens them in batches of 500.
  Only the front process is measured: hearthd's daemon process (not its Python workers), nginx's
  master + worker (returning a fixed body with `return 200`).

## Exact commands and generated configs (first app)

`$BENCH_TMP` stands for the run's temp dir (`{results.get('tmp_root', '?')}` in this run).

{_configs_section(results).replace(results.get('tmp_root') or '$BENCH_TMP', '$BENCH_TMP')}
{_idle_configs(results).replace(results.get('tmp_root') or '$BENCH_TMP', '$BENCH_TMP')}

## Reproduce

```
make bench                      # installs the peers from Debian, builds hearthd, runs everything
/usr/bin/python3 bench/run.py --quick                    # smoke test: 3 s, 1 round, hello only
/usr/bin/python3 bench/run.py --only hearthd,gunicorn --apps hello,flask --duration 5 --rounds 3
/usr/bin/python3 bench/run.py --asgi-only                # FastAPI JSON, WebSocket echo, first event
/usr/bin/python3 bench/run.py --apps ws --duration 3 --rounds 1   # one ASGI row (no doc written)
```

`make bench` runs `packaging/install-deps.sh bench` (gunicorn, uwsgi, uwsgi-plugin-python3,
nginx-light, wrk, nghttp2-client, passenger) and then `bench/run.py`, which rewrites this file.
Set `HEARTH_BENCH_KEEP_TMP=1` to keep the generated configs and server logs.
"""

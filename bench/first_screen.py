"""What the provider dashboard's first screen is made of: one pre-heated page in Chromium, traced.

    .venv/bin/python bench/first_screen.py [--scale national] [--repeat 2] [--trace artifacts/first_screen.json]

Uses bench/dashboard.py's cached warehouse and its page clock. Voilà as ``keurmerk serve`` starts it, a pool of
one pre-heated kernel; each page in a fresh browser context (empty cache), traced (CDP Tracing, devtools.timeline
and v8). Prints, per page: the page clock's milestones, every HTTP request (bytes over the wire, decoded size,
when it finished), the main thread's time by kind (script compile/evaluate per URL, style, layout, paint, GC),
when the kernel's first and last widget messages arrived and how many widget models the page received
(``comm_open``), and the first chart's embed. Then the same page opened again in the same context (a returning
visitor: the browser cache holds what may be cached).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from importlib.metadata import version
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dashboard as bench  # noqa: E402

from keurmerk.access import link_url, make_token  # noqa: E402
from keurmerk.serve import running, voila_command  # noqa: E402

ALL = os.environ.get("FS_ALL") == "1"
CATEGORIES = ["devtools.timeline", "v8", "disabled-by-default-devtools.timeline", "blink.user_timing", "loading"]


def short(url: str) -> str:
    return url.split("?")[0].rsplit("/", 2)[-1][-60:] if url else "(inline)"


async def visit(chromium_context, url: str, charts: int, trace: Path | None) -> dict:
    page = await chromium_context.new_page()
    cdp = await chromium_context.new_cdp_session(page)
    if os.environ.get("FS_CONSOLE"):
        page.on("console", lambda m: print("   console", m.type, m.text[:300]))
        page.on("pageerror", lambda e: print("   pageerror", str(e)[:300]))
    requests: dict[str, dict] = {}
    frames: list[tuple[float, int, str]] = []  # (wall ms, bytes, kind)
    t0 = {}

    def sent(e):
        requests[e["requestId"]] = {"url": e["request"]["url"], "start": e["timestamp"]}
        t0.setdefault("ts", e["timestamp"])
        t0.setdefault("wall", e["wallTime"])

    def response(e):
        r = requests.get(e["requestId"])
        if r is not None:
            r["status"] = e["response"]["status"]
            if os.environ.get("FS_CONSOLE") and r["status"] >= 400:
                print("   HTTP", r["status"], r["url"][:200])
            r["cache"] = e["response"].get("fromDiskCache") or e["response"].get("fromMemoryCache")
            r["encoding"] = e["response"]["headers"].get("Content-Encoding") or e["response"]["headers"].get(
                "content-encoding", "")

    def finished(e):
        r = requests.get(e["requestId"])
        if r is not None:
            r["end"], r["wire"] = e["timestamp"], int(e.get("encodedDataLength", 0))

    def data(e):
        r = requests.get(e["requestId"])
        if r is not None:
            r["decoded"] = r.get("decoded", 0) + e.get("dataLength", 0)

    def frame(e):
        payload = e["response"]["payloadData"]
        raw = base64.b64decode(payload) if e["response"]["opcode"] == 2 else payload.encode()
        kind = "comm_open" if b'"comm_open"' in raw else ("comm_msg" if b'"comm_msg"' in raw else "other")
        frames.append((e["timestamp"], len(raw), kind))
        if os.environ.get("FS_FRAMES") and len(raw) > 20000:
            print("   big frame", len(raw), raw[:600])

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", response)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.dataReceived", data)
    cdp.on("Network.webSocketFrameReceived", frame)
    await cdp.send("Network.enable")
    await page.add_init_script(bench.PAGE_CLOCK % charts)
    browser = chromium_context.browser
    if trace is not None:
        await browser.start_tracing(page=page, categories=CATEGORIES)
    issued = time.time() * 1000
    await page.goto(url, wait_until="commit")
    await page.wait_for_function("window.__km && window.__km.drawn !== null", timeout=120_000)
    await page.wait_for_timeout(500)
    clock = await page.evaluate("window.__km")
    raw = await browser.stop_tracing() if trace is not None else None
    if raw is not None:
        trace.write_bytes(raw)
    # CDP timestamps are monotonic seconds; the first request's wallTime ties them to the page clock
    def ms(ts: float) -> float:
        return (t0["wall"] + ts - t0["ts"]) * 1000 - issued

    out = {
        "urls": [(r["url"], ms(r["start"])) for r in requests.values() if r["url"].startswith("http")],
        "milestones": {k: clock[k] - issued for k in ("loaded", "dashboard", "first", "screen", "live", "drawn")
                       if clock.get(k)},
        "requests": [
            (short(r["url"]), r.get("status"), r.get("wire", 0), r.get("decoded", 0), ms(r["start"]),
             ms(r["end"]) if "end" in r else None, r.get("encoding"), r.get("cache"))
            for r in requests.values() if r["url"].startswith("http")
        ],
        "frames": [(ms(ts), n, kind) for ts, n, kind in frames],
        "frames_raw": frames,
        "page": page,
    }
    if raw is not None:
        out["main"] = main_thread(json.loads(raw), issued)
    return out


def main_thread(trace: dict, issued: float) -> dict:
    """Main-thread time of the page's renderer by kind, and script time per URL."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    # the renderer's main thread: where the page's ParseHTML ran
    mains = Counter((e["pid"], e["tid"]) for e in events if e.get("name") == "ParseHTML")
    if not mains:
        return {}
    pid, tid = mains.most_common(1)[0][0]
    by_kind: dict[str, float] = defaultdict(float)
    by_url: dict[str, float] = defaultdict(float)
    top = [e for e in events if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X"
           and e.get("name") == "RunTask"]
    total = sum(e.get("dur", 0) for e in top) / 1000
    names = {"EvaluateScript": "script", "v8.compile": "compile", "v8.compileModule": "compile",
             "v8.evaluateModule": "script", "FunctionCall": "script", "TimerFire": "script",
             "EventDispatch": "script", "FireAnimationFrame": "script", "RunMicrotasks": "script",
             "V8.ParseFunction": "parse", "v8.parseOnBackground": "parse", "V8.GC_SCAVENGER": "gc",
             "MajorGC": "gc", "MinorGC": "gc", "UpdateLayoutTree": "style", "Layout": "layout", "Paint": "paint",
             "ParseHTML": "html", "ParseAuthorStyleSheet": "css parse", "PrePaint": "paint",
             "Layerize": "paint", "Commit": "paint", "v8.produceCache": "compile"}
    # self-time would need nesting; instead count only the outermost event of each kind below a RunTask
    stack: list[tuple[float, str]] = []
    for e in sorted((e for e in events if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X"
                     and e.get("name") in names), key=lambda e: (e["ts"], -e.get("dur", 0))):
        while stack and stack[-1][0] <= e["ts"]:
            stack.pop()
        if not stack:
            kind = names[e["name"]]
            by_kind[kind] += e.get("dur", 0) / 1000
            if kind in ("script", "compile"):
                data = e.get("args", {}).get("data", {})
                url = data.get("url") or data.get("fileName") or e.get("args", {}).get("fileName", "")
                by_url[short(url) if url else e["name"]] += e.get("dur", 0) / 1000
        stack.append((e["ts"] + e.get("dur", 0), e["name"]))
    return {"busy": total, "kinds": dict(by_kind), "urls": dict(by_url)}


PRELOADS = bench.REPO / "keurmerk" / "voila_template" / "voila" / "templates" / "keurmerk" / "preload.html.j2"


def record(urls: list[tuple[str, float]]) -> None:
    """Write the template's list of scripts to preload: every script of Voilà's front end and its extensions
    the page loaded (webpack loads them in waves, each only once the one before ran)."""
    from urllib.parse import urlsplit

    paths = []
    for url, _ in sorted(urls, key=lambda u: u[1]):
        parts = urlsplit(url)
        if parts.path.endswith(".js") and parts.path.startswith(("/voila/static/", "/voila/labextensions/")):
            path = parts.path[1:] + (f"?{parts.query}" if parts.query else "")
            if path not in paths:
                paths.append(path)
    lines = [
        "{#- keurmerk: the scripts Voilà's front end loads for a dashboard page, fetched from the end of the page's",
        "    head so that they arrive while the kernel runs. Webpack's chunks of Voilà itself (N.voila.js) only",
        "    register their modules: they run (async) as they arrive, and voila.js finds them installed. voila.js",
        "    and the widget extensions are preloaded only: they run where Voilà puts them. Written by",
        "    bench/first_screen.py --record (Voilà " + version("voila") + ").",
        "    A macro, imported at the top of index.html.j2: compiled when the page starts rendering (in the pool),",
        "    not when the page's end is reached after the visitor's request. -#}",
        "{%- macro scripts(base_url) %}",
    ]
    for path in paths:
        if re.fullmatch(r"voila/static/\d+\.voila\.js", path):
            lines.append(f'<script async src="{{{{ base_url }}}}{path}"></script>')
        else:
            lines.append(f'<link rel="preload" as="script" href="{{{{ base_url }}}}{path}">')
    PRELOADS.write_text("\n".join([*lines, "{%- endmacro %}"]) + "\n")
    print(f"{len(paths)} scripts -> {PRELOADS}")


async def chapter(page, frames: list) -> None:
    """Click the chapter's tab (as bench/dashboard.py does): when the kernel's first and last widget messages
    came, and when its charts in view were drawn."""
    before = len(frames)
    started = time.perf_counter()
    t0 = time.monotonic()  # CDP timestamps are monotonic seconds on Linux
    await page.locator(".km-tabs .lm-TabBar-tab", has_text=bench.catalog().sections[bench.CHAPTER]).click()
    await page.wait_for_function(bench.CHAPTER_SCREEN, arg=bench.CHAPTER, timeout=60_000)
    screen = (time.perf_counter() - started) * 1000
    await page.wait_for_timeout(300)
    new = frames[before:]
    opens = [f for f in new if f[2] == "comm_open"]
    rel = lambda ts: (ts - t0) * 1000  # noqa: E731
    print(f"  chapter {bench.CHAPTER}: charts in view {screen:.0f} ms; {len(new)} frames, {len(opens)} comm_open "
          f"({rel(opens[0][0]) if opens else 0:.0f}→{rel(opens[-1][0]) if opens else 0:.0f} ms), "
          f"{sum(f[1] for f in new) / 1e3:.0f} kB")


def report(label: str, r: dict) -> None:
    print(f"\n=== {label}")
    print("  milestones (ms after navigation):", {k: round(v) for k, v in r["milestones"].items()})
    reqs = r["requests"]
    print(f"  {len(reqs)} requests, {sum(q[2] for q in reqs) / 1e3:.0f} kB wire, "
          f"{sum(q[3] for q in reqs) / 1e3:.0f} kB decoded")
    for name, status, wire, decoded, start, end, enc, cache in (sorted(reqs, key=lambda q: q[4]) if ALL else sorted(reqs, key=lambda q: -q[3])[:25]):
        print(f"    {name:60s} {status} {wire / 1e3:8.1f} kB wire {decoded / 1e3:8.1f} kB  "
              f"{start:6.0f}→{(end or 0):6.0f} ms {enc or ''} {'cache' if cache else ''}")
    fr = r["frames"]
    if fr:
        opens = [f for f in fr if f[2] == "comm_open"]
        print(f"  websocket: {len(fr)} frames, {sum(f[1] for f in fr) / 1e3:.0f} kB; first {fr[0][0]:.0f} ms, "
              f"comm_open {len(opens)} ({opens[0][0] if opens else 0:.0f}→{opens[-1][0] if opens else 0:.0f} ms), "
              f"last {fr[-1][0]:.0f} ms")
    m = r.get("main")
    if m:
        print(f"  main thread busy {m['busy']:.0f} ms:", {k: round(v) for k, v in sorted(m["kinds"].items(),
                                                                                          key=lambda x: -x[1])})
        for url, t in sorted(m["urls"].items(), key=lambda x: -x[1])[:15]:
            print(f"    {url:60s} {t:7.0f} ms")


async def run(args) -> None:
    from playwright.async_api import async_playwright

    db = bench.warehouse(args.scale)
    provider = bench.providers(db, 1)[0]
    os.environ.setdefault("KEURMERK_SECRET", bench.DEFAULT_SECRET)
    with tempfile.TemporaryDirectory() as tmp:
        dashboards = Path(tmp) / "dashboards"
        dashboards.mkdir()
        (dashboards / bench.NOTEBOOK.name).write_bytes(bench.NOTEBOOK.read_bytes())
        launch = voila_command(db, bench.free_port(), dashboards_dir=dashboards, pool_size=1, environ=os.environ)
        log = Path(tmp) / "voila.log"
        url = link_url(launch.url, "aanbieder", make_token(provider.id, secret=os.environ["KEURMERK_SECRET"].encode()))
        served: set[str] = set()
        with log.open("w") as out, running(launch, log=out, timeout=120) as process:
            voila = psutil.Process(process.pid)
            async with async_playwright() as pw:
                chromium = await pw.chromium.launch(executable_path=bench.CHROMIUM, args=bench.CHROMIUM_ARGS)
                for i in range(args.repeat):
                    await bench.wait_for_pool(voila, 1, log, 300, served)
                    context = await chromium.new_context(viewport=bench.VIEWPORT, locale="nl-NL")
                    trace = Path(args.trace) if args.trace and i == 0 else None
                    first = await visit(context, url, provider.charts, trace)
                    served.update(bench.kernels(voila))
                    report(f"page {i + 1}, empty cache", first)
                    if args.record and i == 0:
                        record(first["urls"])
                    if args.screenshot and i == 0:
                        await first["page"].screenshot(path=args.screenshot)
                    if args.chapter:
                        await chapter(first["page"], frames=first["frames_raw"])
                    if args.again:
                        await bench.wait_for_pool(voila, 1, log, 300, served)
                        again = await visit(context, url, provider.charts, None)
                        served.update(bench.kernels(voila))
                        report(f"page {i + 1}, again in the same browser (cache)", again)
                    await context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="national", choices=("tiny", "demo", "national", "x10"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--trace", default="", help="write the first page's Chromium trace here")
    parser.add_argument("--screenshot", default="")
    parser.add_argument("--record", action="store_true", help="write the template's preload list (preload.html.j2)")
    parser.add_argument("--chapter", action="store_true", help="then open the chapter's tab, timed")
    parser.add_argument("--again", action="store_true", help="also open the page again with the browser's cache")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""Serving, server side only (no browser on the machine under test): provider links opened at once, and the static
public search under 200 concurrent requests.

    .venv/bin/python bench/serving.py [--scale demo|national ...] [--visits 20] [--pools 1,2,4,default] [--max-kernels N]
                                      [--public 200]

Per scale (warehouse cached under var/bench-serving/<scale>/, generated and ingested once) and per pool size,
one `keurmerk serve` (``keurmerk.serve.voila_command`` + ``running``, only ``aanbieder.ipynb``) is started and its
pool left to fill and settle. Then ``--visits`` links of as many different providers are requested at the same
moment (one thread each, plain HTTP); a visit ends when the page is streamed to its end, i.e. the kernel has
opened the link and run the notebook. A visit fails when the status is not 200 or the page lacks the dashboard's
output (the retry page counts as failed); it hangs when it takes longer than ``--timeout``. Reported: p50/p95 of
the visit times, the kernels running at the end (visits + refilled pool), the peak total RSS of Voilà and its
kernels (sampled every 0,25 s), the idle RSS before the visits (Voilà + the filled pool), a pool kernel's RSS,
PSS (its share of pages shared with the other kernels: libraries, the page cache) and anonymous memory (its own),
and the CPU seconds of Voilà and its kernels from the visits until the refilled pool is quiet, per visit.

Then ``--public`` concurrent GETs of the public search: the files of a first visit in turn (the page, its script
and style, the index ``data.json`` and the latest period's listing; a site of one data file has no listing), from
the same server and from Debian's nginx in front of it as deployed (deploy/nginx, serving the site from disk):
p50/p95, the bytes of a first visit (gzipped, as sent) and the kernels started meanwhile (must be 0).
``--site-dir DIR`` measures a site written elsewhere (e.g. by an older version) instead of writing one;
``--visits 0`` skips the visits.

``--visit-cost`` measures instead where a visit's server time goes: one server with a pool of 1, a visit that finds
the pre-heated kernel and then visits that must start a kernel of their own (the pool is empty), each with the CPU
seconds of the Voilà process and of the kernels, and the wall time.

The machine may be shared: the load average is printed under the table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keurmerk.access import link_url, make_token  # noqa: E402
from keurmerk.serve import default_pool_size, descendants, kernel_pids, running, voila_command  # noqa: E402

VAR = REPO / "var" / "bench-serving"
SECRET = os.environ.setdefault("KEURMERK_SECRET", "bench-serving-secret")
DASHBOARD_MARK = "application/vnd.jupyter.widget-view+json"  # the dashboard's widget in the streamed page


def warehouse(scale: str) -> Path:
    from keurmerk.synth import cached_warehouse

    return cached_warehouse(scale, VAR / scale / "files", VAR / scale / "warehouse.duckdb", echo=print)


def provider_ids(db: Path, count: int) -> list[str]:
    from keurmerk.warehouse import open_readonly

    with open_readonly(db) as con:
        rows = con.execute("SELECT DISTINCT provider_id FROM invitations ORDER BY provider_id LIMIT $n", {"n": count})
        return [pid for (pid,) in rows.fetchall()]


def free_port() -> int:
    """A port nobody listens on now (others may run this bench on the same machine at the same time)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss(pid: int) -> int:
    total = 0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(p).memory_info().rss
    return total


def smaps(pid: int) -> dict[str, int]:
    """Rss and Pss (this process's share of pages it shares with others) in bytes, from /proc/PID/smaps_rollup."""
    found = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Anonymous"):
                found[key] = int(rest.split()[0]) * 1024
    return found


def settle(pid: int, kernels: int | None, timeout: float = 600) -> None:
    """Until ``kernels`` kernels run (any number: None) and none used CPU for 2 s (the pool prepared, waiting)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        children = descendants(pid)  # the kernels, and the fork server they are forked from
        ticks = {}
        for c in children:
            with contextlib.suppress(psutil.Error):
                ticks[c] = sum(psutil.Process(c).cpu_times()[:2])
        if (kernels is not None and len(kernel_pids(pid)) != kernels) or ticks != last:
            last, since = ticks, time.monotonic()
        elif time.monotonic() - since > 2:
            return
        time.sleep(0.25)
    raise TimeoutError("the pool did not settle")


def visit(url: str, timeout: float) -> tuple[float, str]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        return time.monotonic() - started, f"HTTP {error.code}"
    except Exception as error:  # noqa: BLE001 - a timeout is a hung visit
        return time.monotonic() - started, "hung" if "timed out" in str(error) else type(error).__name__
    elapsed = time.monotonic() - started
    if status != 200 or DASHBOARD_MARK not in body or "Probeer het opnieuw" in body:
        return elapsed, "no dashboard"
    return elapsed, "ok"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def public_load(urls: list[str]) -> list[tuple[float, int]]:
    """All ``urls`` requested at the same moment: (seconds, status) per request. With curl's parallel mode (a C
    client, so the load generator is not what gets measured) when curl is there, else one Python thread each."""
    import shutil
    import subprocess

    if curl := shutil.which("curl"):
        argv = [curl, "-s", "--compressed", "-Z", "--parallel-immediate", "--parallel-max", str(len(urls))]
        argv += ["-w", "%{http_code} %{time_total}\\n"]
        for url in urls:
            argv += ["-o", "/dev/null", url]
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout.split()
        return [(float(t), int(code)) for code, t in zip(out[::2], out[1::2], strict=True)]
    gate = threading.Barrier(len(urls))

    def get(url: str) -> tuple[float, int]:
        gate.wait()
        started = time.monotonic()
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return time.monotonic() - started, response.status

    with ThreadPoolExecutor(len(urls)) as threads:
        return list(threads.map(get, urls))


@contextlib.contextmanager
def nginx_in_front(work: Path, worker_port: int, root: Path):
    """Debian's nginx with deploy/nginx (the test configuration: loopback, no TLS), serving ``root``/zoeken/."""
    import shutil
    import subprocess

    from keurmerk.serve import wait_until_listening

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = work / "nginx.conf"
    template = (REPO / "deploy" / "nginx" / "local.conf.in").read_text()
    conf.write_text(
        template.format(
            user="user root;" if os.geteuid() == 0 else "",
            work=work,
            port=port,
            port1=worker_port,
            port2=worker_port,
            root=root,
            locations=REPO / "deploy" / "nginx" / "keurmerk-locations.conf",
        )
    )
    process = subprocess.Popen([nginx, "-p", str(work), "-c", str(conf), "-e", str(work / "error.log")])
    try:
        wait_until_listening(port, 30, process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(10)


def first_visit(site: Path) -> list[str]:
    """The site's files a first visit asks for, relative to the server root."""
    import json

    paths = ["zoeken/", "zoeken/zoeken.js", "zoeken/zoeken.css", "zoeken/data.json"]
    index = json.loads((site / "data.json").read_bytes())
    if files := index.get("files"):
        paths.append(f"zoeken/{files[str(index['periods'][0])]}")
    return paths


def gzipped_bytes(site: Path, paths: list[str]) -> int:
    total = 0
    for path in paths:
        name = path.removeprefix("zoeken/") or "index.html"
        gz = site / f"{name}.gz"
        total += (gz if gz.exists() else site / name).stat().st_size
    return total


def run(
    scale: str, pool: int | str, visits: int, max_kernels: int, public: int, timeout: float, site_dir: Path | None = None
) -> dict:
    db = warehouse(scale)
    work = VAR / scale / f"pool{pool}"
    dashboards = work / "dashboards"
    dashboards.mkdir(parents=True, exist_ok=True)
    (dashboards / "aanbieder.ipynb").write_bytes((REPO / "dashboards" / "aanbieder.ipynb").read_bytes())
    from keurmerk.site import write_site

    site = site_dir or write_site(db, work / "site" / "zoeken")
    paths = first_visit(site)
    port = free_port()
    size = None if pool == "default" else int(pool)  # default: keurmerk serve's own pool for this budget
    launch = voila_command(db, port, dashboards_dir=dashboards, pool_size=size, max_kernels=max_kernels, site_dir=site)
    pool = default_pool_size(max_kernels) if size is None else size
    ids = provider_ids(db, visits) if visits else []
    links = [link_url(launch.url, "aanbieder", make_token(pid)) for pid in ids]
    with (work / "voila.log").open("w") as log, running(launch, log=log, timeout=120) as process:
        settle(process.pid, pool)
        idle = tree_rss(process.pid)
        pool_kernels = [smaps(k) for k in kernel_pids(process.pid)]
        cpu_before = {p: cpu_seconds(p) for p in [process.pid, *descendants(process.pid)]}
        cpu_seen = dict(cpu_before)  # every process's CPU as last seen: culled kernels keep what they spent
        peak, stop = [idle], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak.append(tree_rss(process.pid))
                for p in [process.pid, *descendants(process.pid)]:
                    cpu_seen[p] = max(cpu_seen.get(p, 0.0), cpu_seconds(p))
                time.sleep(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        barrier = threading.Barrier(max(1, len(links)))

        def one(url: str) -> tuple[float, str]:
            barrier.wait()
            return visit(url, timeout)

        results = []
        if links:
            with ThreadPoolExecutor(len(links)) as pool_threads:
                results = list(pool_threads.map(one, links))
        kernels_after = len(kernel_pids(process.pid))
        times = [t for t, outcome in results if outcome == "ok"]
        failed = sum(1 for _, outcome in results if outcome not in ("ok", "hung"))
        hung = sum(1 for _, outcome in results if outcome == "hung")

        # the public search: no kernel may start; from `keurmerk serve`, then from nginx as deployed. First the
        # pool's refill after the visits (fill delay 5 s) has to be over, or its kernels would be counted here.
        time.sleep(6)
        settle(process.pid, None)
        stop.set()
        sampler.join()
        cpu_spent = sum(cpu - cpu_before.get(p, 0.0) for p, cpu in cpu_seen.items())  # visits + the pool's refill
        before = set(kernel_pids(process.pid))
        direct = public_load([launch.url + paths[i % len(paths)] for i in range(public)])
        with nginx_in_front(work, launch.port, site.parent) as proxied_url:
            proxied = public_load([proxied_url + paths[i % len(paths)] for i in range(public)])
        new_kernels = len(set(kernel_pids(process.pid)) - before)
    served = direct
    return {
        "scale": scale,
        "pool": pool if size is not None else f"{pool} (default)",
        "visits": visits,
        "ok": len(times),
        "failed": failed,
        "hung": hung,
        "p50": statistics.median(times) if times else float("nan"),
        "p95": pct(times, 0.95),
        "kernels": kernels_after,
        "idle_mb": idle / 2**20,
        "peak_mb": max(peak) / 2**20,
        "kernel_rss_mb": statistics.mean(k.get("Rss", 0) for k in pool_kernels) / 2**20 if pool_kernels else 0.0,
        "kernel_pss_mb": statistics.mean(k.get("Pss", 0) for k in pool_kernels) / 2**20 if pool_kernels else 0.0,
        "kernel_anon_mb": statistics.mean(k.get("Anonymous", 0) for k in pool_kernels) / 2**20 if pool_kernels else 0.0,
        "cpu_per_visit": cpu_spent / visits if visits else float("nan"),
        "public_p50_ms": statistics.median(t for t, _ in served) * 1000,
        "public_p95_ms": pct([t for t, _ in served], 0.95) * 1000,
        "nginx_p50_ms": statistics.median(t for t, _ in proxied) * 1000,
        "nginx_p95_ms": pct([t for t, _ in proxied], 0.95) * 1000,
        "first_visit_kb": gzipped_bytes(site, paths) / 1000,
        "public_errors": sum(1 for _, status in served + proxied if status != 200),
        "public_kernels": new_kernels,
    }


def cpu_seconds(pid: int) -> float:
    with contextlib.suppress(psutil.Error):
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    return 0.0


def visit_cost(scale: str, cold: int, timeout: float) -> list[dict]:
    """A visit that finds the pre-heated kernel, then ``cold`` visits that start one (pool of 1, taken)."""
    db = warehouse(scale)
    work = VAR / scale / "cost"
    dashboards = work / "dashboards"
    dashboards.mkdir(parents=True, exist_ok=True)
    (dashboards / "aanbieder.ipynb").write_bytes((REPO / "dashboards" / "aanbieder.ipynb").read_bytes())
    launch = voila_command(db, free_port(), dashboards_dir=dashboards, pool_size=1, max_kernels=cold + 4)
    rows = []
    with (work / "voila.log").open("w") as log, running(launch, log=log, timeout=120) as process:
        settle(process.pid, 1)
        for i, pid in enumerate(provider_ids(db, cold + 1)):
            before = {k: cpu_seconds(k) for k in descendants(process.pid)}
            server = cpu_seconds(process.pid)
            took, outcome = visit(link_url(launch.url, "aanbieder", make_token(pid)), timeout)
            after = descendants(process.pid)
            rows.append(
                {
                    "visit": "pre-heated" if i == 0 else "cold",
                    "outcome": outcome,
                    "wall_s": took,
                    "voila_cpu": cpu_seconds(process.pid) - server,
                    "kernel_cpu": sum(cpu_seconds(k) - before.get(k, 0.0) for k in after),
                    "new_kernels": len(set(kernel_pids(process.pid)) - set(before)),
                }
            )
            print(rows[-1], flush=True)
            time.sleep(0.5)  # the next visit comes before the pool's refill (fill delay): it starts its own kernel
    print("\n| visit | outcome | wall s | Voilà CPU-s | kernel CPU-s | kernels started |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['visit']} | {r['outcome']} | {r['wall_s']:.2f} | {r['voila_cpu']:.2f} | {r['kernel_cpu']:.2f} | "
            f"{r['new_kernels']} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="append", choices=("tiny", "demo", "national"))
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--pools", default="1,2,4")
    parser.add_argument("--max-kernels", type=int, help="the kernel budget (default: keurmerk serve's for this machine)")
    parser.add_argument("--public", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--site-dir", type=Path, help="measure this public site instead of writing one")
    parser.add_argument("--visit-cost", type=int, metavar="COLD", help="CPU of a pre-heated and COLD cold visits")
    args = parser.parse_args()
    if args.max_kernels is None:
        from keurmerk.serve import default_max_kernels

        args.max_kernels = default_max_kernels()
    if args.visit_cost is not None:
        for scale in args.scale or ["demo"]:
            visit_cost(scale, args.visit_cost, args.timeout)
        print(f"\nload average: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        return
    rows = []
    for scale in args.scale or ["demo"]:
        for pool in (p if p == "default" else int(p) for p in args.pools.split(",")):
            rows.append(run(scale, pool, args.visits, args.max_kernels, args.public, args.timeout, args.site_dir))
            print(rows[-1], flush=True)
    header = (
        "| scale | pool | visits at once | p50 s | p95 s | failed | hung | kernels after | idle MB | peak MB "
        "| pool kernel RSS / PSS / anon MB | CPU-s per visit (refill incl.) "
        "| public p50 ms | p95 ms | via nginx p50 ms | p95 ms | first visit kB (gzip) | public kernels |"
    )
    print()
    print(header)
    print("|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|")
    for r in rows:
        print(
            f"| {r['scale']} | {r['pool']} | {r['visits']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['failed']} | "
            f"{r['hung']} | {r['kernels']} | {r['idle_mb']:.0f} | {r['peak_mb']:.0f} | "
            f"{r['kernel_rss_mb']:.0f} / {r['kernel_pss_mb']:.0f} / {r['kernel_anon_mb']:.0f} | {r['cpu_per_visit']:.2f} | "
            f"{r['public_p50_ms']:.1f} | "
            f"{r['public_p95_ms']:.1f} | {r['nginx_p50_ms']:.1f} | {r['nginx_p95_ms']:.1f} | {r['first_visit_kb']:.0f} | "
            f"{r['public_kernels']} |"
        )
    print(
        f"\nkernel budget {args.max_kernels}; load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on "
        f"{os.cpu_count()} cores (machine may be shared)"
    )


if __name__ == "__main__":
    main()

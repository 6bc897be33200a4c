"""`keurmerk serve` as a server, over HTTP on 127.0.0.1 (no browser): the Dutch shell, the static public search
without a kernel, compression and caching, the kernel budget, refused links, culling, IPC kernels, dead and
stalled kernels, and fresh pool kernels after a publication."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import os
import re
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from browser_support import DASHBOARDS, free_port

from keurmerk.access import link_url, make_token
from keurmerk.serve import VoilaLaunch, default_pool_size, descendants, kernel_pids, running, voila_command
from keurmerk.site import write_site

pytestmark = pytest.mark.slow

SECRET = "serving-secret"
STALL_S = 6


@dataclasses.dataclass
class Server:
    launch: VoilaLaunch
    process: object
    log: Path

    def url(self, path: str = "") -> str:
        return self.launch.url + path.lstrip("/")

    def kernels(self) -> dict[str, int]:
        """kernel id -> pid of every kernel process of this server."""
        found = {}
        for pid in kernel_pids(self.process.pid):
            try:
                cmdline = psutil.Process(pid).cmdline()
            except psutil.Error:
                continue
            for arg in cmdline:
                if m := re.search(r"kernel-([0-9a-f-]{36})\.json$", arg):
                    found[m.group(1)] = pid
        return found

    def link(self, provider: str = "P0000", **kwargs) -> str:
        return link_url(self.launch.url, "aanbieder", make_token(provider, secret=SECRET.encode(), **kwargs))

    def wait_for_kernels(self, count: int, timeout: float = 90) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.kernels()) == count:
                return found
            time.sleep(0.25)
        raise AssertionError(f"{len(self.kernels())} kernels, not {count}, after {timeout} s")

    def wait_for_pool(self, timeout: float = 120) -> None:
        """Until every kernel is quiet for 2 s: the pool kernel has prepared and waits for a visitor."""
        deadline = time.monotonic() + timeout
        last, quiet_since = None, time.monotonic()
        while time.monotonic() < deadline:
            ticks = {}
            for pid in self.kernels().values():
                with contextlib.suppress(psutil.Error):
                    ticks[pid] = sum(psutil.Process(pid).cpu_times()[:2])
            if ticks != last:
                last, quiet_since = ticks, time.monotonic()
            elif ticks and time.monotonic() - quiet_since > 2:
                return
            time.sleep(0.25)
        raise AssertionError("the pool kernel did not settle")


def get(url: str, timeout: float = 120, gzip_ok: bool = False) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body, status, headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        body, status, headers = error.read(), error.code, dict(error.headers)
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return status, headers, body.decode()


def kernel_id_of(page: str) -> str:
    return re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page).group(1)


@contextmanager
def serving(
    db: Path,
    work: Path,
    *,
    max_kernels: int,
    extra: tuple[str, ...] = (),
    notebooks: tuple[str, ...] = ("aanbieder.ipynb",),
    pool_size: int | None = 1,
    pre_heated: bool = True,
) -> Iterator[Server]:
    dashboards = work / "dashboards"
    dashboards.mkdir()
    for name in notebooks:
        shutil.copy(DASHBOARDS / name, dashboards / name)
    site = write_site(db, work / "zoeken")
    launch = voila_command(
        db,
        free_port(),
        dashboards_dir=dashboards,
        pool_size=pool_size,
        max_kernels=max_kernels,
        site_dir=site,
        environ={**os.environ, "KEURMERK_SECRET": SECRET},
    )
    argv = launch.argv
    if not pre_heated:  # voila_command always pre-heats: its two flags turned round (as bench/dashboard.py does)
        argv = tuple("--preheat_kernel=False" if arg.startswith("--preheat_kernel=") else
                     "--pool_size=0" if arg.startswith("--pool_size=") else arg for arg in argv)
    launch = dataclasses.replace(launch, argv=(*argv, f"--KeurmerkVoila.stall_timeout={STALL_S}", *extra))
    log = work / "voila.log"
    with log.open("w") as out, running(launch, log=out, timeout=90) as process:
        yield Server(launch, process, log)


@pytest.fixture(scope="module")
def server(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tiny_db, tmp_path_factory.mktemp("serving"), max_kernels=3) as running_server:
        running_server.wait_for_kernels(1)
        yield running_server


def test_landing_page_and_dutch_404s(server: Server) -> None:
    status, headers, body = get(server.url("/"), gzip_ok=True)
    assert status == 200 and 'lang="nl"' in body and 'href="zoeken/"' in body
    assert "Zoek een keurmerkhouder" in body and "toegang=" not in body
    for odd in (
        "voila/tree",
        "voila/tree/aanbieder.ipynb",
        "voila/api/contents",
        "voila/api/contents/aanbieder.ipynb",
        "voila/render/bestaat-niet.ipynb",
        "voila/templates/x",
        "wp-login.php",
        "voila/static/%2e%2e/x",
    ):
        status, _, body = get(server.url(odd))
        assert status in (403, 404), (odd, status)
        assert re.search("Deze pagina bestaat niet|Geen toegang", body) and "Traceback" not in body, odd


def test_dutch_page_shell(server: Server) -> None:
    status, _, page = get(server.link())
    assert status == 200 and "<title>Uw resultaten — Blik op Werk Keurmerk</title>" in page
    assert "Het dashboard wordt klaargezet" in page
    for english in ("Running ", "Executing ", "Loading", ">Voilà<"):
        assert english not in page, english


def test_compressed_and_cacheable(server: Server) -> None:
    status, headers, page = get(server.link(), gzip_ok=True)
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    scripts = re.findall(r'src="(/voila/[^"]+\.js[^"]*)"', page)
    assert scripts
    status, headers, _ = get(server.url(scripts[0]), gzip_ok=True)
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert "no-cache" in headers["Cache-Control"] or "max-age" in headers["Cache-Control"]
    assert headers.get("Etag") or "immutable" in headers["Cache-Control"]
    status, headers, index = get(server.url("zoeken/data.json"), gzip_ok=True)
    assert status == 200 and headers["Content-Encoding"] == "gzip" and headers["Cache-Control"] == "no-cache"
    for name in json.loads(index)["files"].values():  # a period's listing is named by its content: kept
        status, headers, _ = get(server.url(f"zoeken/{name}"), gzip_ok=True)
        assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable"


def raw(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
        return response.status, dict(response.headers), response.read()


def test_static_files_are_gzipped_once_per_version(server: Server) -> None:
    """Static files are compressed once and kept (keurmerk.voila_app.PreCompressed): the same bytes on every
    request, the file itself inside; a range request gets its own part of the file; a file rewritten on disk (the
    public search after a publication) is compressed anew."""
    script = server.url("voila/templates/keurmerk/static/chart_widget.js")
    _, plain_headers, plain = raw(script)
    assert "Content-Encoding" not in plain_headers
    status, headers, first = raw(script, **{"Accept-Encoding": "gzip"})
    _, _, again = raw(script, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in headers["Vary"]
    assert int(headers["Content-Length"]) == len(first) and first == again and gzip.decompress(first) == plain
    status, headers, part = raw(script, **{"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert status == 206 and (gzip.decompress(part) if "Content-Encoding" in headers else part) == plain[:100]
    css = Path(server.launch.env["KEURMERK_SITE"]) / "zoeken.css"
    before = css.read_bytes()
    try:
        css.write_bytes(before + b"\n/* nieuwe publicatie */\n")
        _, _, body = raw(server.url("zoeken/zoeken.css"), **{"Accept-Encoding": "gzip"})
        assert gzip.decompress(body).endswith(b"/* nieuwe publicatie */\n")
    finally:
        css.write_bytes(before)
    _, _, body = raw(server.url("zoeken/zoeken.css"), **{"Accept-Encoding": "gzip"})
    assert gzip.decompress(body) == before


def _nodelay_of_peer(pid: int, port: int) -> bool:
    """TCP_NODELAY on process ``pid``'s end of its TCP connection to local port ``port``, read on a duplicate of
    that end's file descriptor (pidfd_getfd, Linux 5.6: the tests run as the server's user, or as root)."""
    import ctypes
    import socket

    end = next(c for c in psutil.Process(pid).net_connections(kind="tcp") if c.raddr and c.raddr.port == port)
    pidfd = os.pidfd_open(pid)
    try:
        fd = ctypes.CDLL(None, use_errno=True).syscall(438, pidfd, end.fd, 0)  # SYS_pidfd_getfd
        if fd < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
    finally:
        os.close(pidfd)
    with socket.socket(fileno=fd) as duplicate:
        return bool(duplicate.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_the_kernels_websocket_is_compressed_and_not_delayed(server: Server) -> None:
    """The widgets' state goes over the kernel's WebSocket as JSON: permessage-deflate is offered and taken. A
    filter change is dozens of small messages: the server writes each at once (no Nagle: TCP_NODELAY on its end)."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    server.wait_for_pool()
    _, headers, page = get(server.link())
    cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
    kernel = kernel_id_of(page)
    url = server.url(f"api/kernels/{kernel}/channels").replace("http://", "ws://")

    async def handshake() -> tuple[str, bool]:
        request = HTTPRequest(url, headers={"Cookie": cookie} if cookie else {})
        connection = await websocket_connect(request, compression_options={})
        try:
            port = connection.stream.socket.getsockname()[1]
            return connection.headers.get("Sec-WebSocket-Extensions", ""), _nodelay_of_peer(server.process.pid, port)
        finally:
            connection.close()

    extensions, nodelay = asyncio.run(handshake())
    assert "permessage-deflate" in extensions
    assert nodelay
    # the page is closed: its kernel goes, as with the template's closing beacon (the budget is small here)
    shutdown = urllib.request.Request(server.url(f"voila/api/shutdown/{kernel}"), data=b"_xsrf=test", method="POST",
                                      headers={"Cookie": "_xsrf=test"})
    with urllib.request.urlopen(shutdown, timeout=60) as response:
        assert response.status == 204


def test_voila_scripts_are_fetched_after_the_first_screen_and_exist(server: Server) -> None:
    """preload.html.j2 names Voilà's chunks by file (bench/first_screen.py --record): after an upgrade of Voilà
    or a widget extension, a file no longer there fails here (record the list again). The provider page streams
    its first screen (keurmerk.dashboard.first_screen) and names them right after it: fetched while the kernel
    ran, their 6 MB delayed the page itself; the head fetches only what draws that first screen."""
    status, _, page = get(server.link())
    head, body = page.split("</head>", 1)
    pattern = r'<(?:link rel="(?:preload|modulepreload)"[^>]*href|script async src)="(/voila/[^"]+)"'
    early = re.findall(pattern, head)
    assert any("chart_widget.js" in url for url in early) and any("first_screen.js" in url for url in early)
    assert not any("voila.js" in url for url in early)
    streamed, after = body.split('data-km="first-screen-specs"', 1)
    assert 'data-km="first-screen"' in streamed and not re.findall(pattern, streamed)
    late = re.findall(pattern, after)
    assert any(url.endswith("/voila.js") for url in late) and any("labextensions" in url for url in late)
    for url in early + late:
        status, _, _ = get(server.url(url.lstrip("/")))
        assert status == 200, url


def test_the_public_search_starts_no_kernel(server: Server) -> None:
    time.sleep(6)  # the pool refill after the previous tests' visits (fill delay 5 s) is under way
    server.wait_for_pool()
    before = set(server.kernels())
    for _ in range(30):
        for path in ("zoeken/", "zoeken/zoeken.js", "zoeken/data.json", "zoeken/zoeken.css"):
            assert get(server.url(path))[0] == 200
    assert get(server.url("zoeken"))[0] == 200  # redirected to zoeken/
    assert set(server.kernels()) <= before


@pytest.mark.parametrize(
    "toegang",
    [
        None,  # missing
        "bm90LWEtdG9rZW4.bm90LWEtc2lnbmF0dXJl",  # forged
        "expired",
        "abc.%C3%A9%E2%82%AC%F0%9F%98%80",  # malformed: non-ASCII signature
        "%FF%FE.%00",
    ],
)
def test_a_refused_link_shows_the_refusal_and_ends_its_kernel(server: Server, toegang: str | None) -> None:
    server.wait_for_kernels(1)
    if toegang == "expired":
        token = make_token("P0000", secret=SECRET.encode(), now=__import__("datetime").datetime(2020, 1, 1))
        url = link_url(server.launch.url, "aanbieder", token)
    else:
        url = server.url("voila/render/aanbieder.ipynb") + (f"?toegang={toegang}" if toegang else "")
    status, _, page = get(url)
    assert status == 200 and "Geen toegang" in page and "Traceback" not in page
    kernel = kernel_id_of(page)
    time.sleep(1)
    assert kernel not in server.kernels()
    server.wait_for_kernels(1)  # the pool is refilled


def test_kernels_talk_over_ipc_not_tcp(server: Server) -> None:
    server.wait_for_kernels(1)
    server.wait_for_pool()  # a kernel that has only just started has not bound its sockets yet
    kernels = server.wait_for_kernels(1)
    checked = 0
    for kernel_id, pid in kernels.items():
        process = psutil.Process(pid)
        connection_file = next(a for a in process.cmdline() if a.endswith(f"kernel-{kernel_id}.json"))
        assert json.loads(Path(connection_file).read_text())["transport"] == "ipc"
        listening = [c for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        # the five channels are Unix sockets; the one TCP socket left is ipykernel's own relay for output of
        # forked subprocesses (iostream.IOPubThread, hard-wired to loopback): nothing listens on the network
        assert len(listening) <= 1 and all(c.laddr.ip == "127.0.0.1" for c in listening), listening
        info = json.loads(Path(connection_file).read_text())
        assert {"shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"} <= set(info)
        sockets = [Path(f"{info['ip']}-{info[key]}") for key in ("shell_port", "iopub_port", "hb_port")]
        # a pool kernel may be replaced meanwhile (a newer snapshot): judge only the kernels still running
        if process.is_running() and Path(connection_file).exists():
            checked += 1
            assert all(path.is_socket() for path in sockets), sockets
    assert checked, "no kernel lived long enough to be checked"


def test_kernels_are_forked_from_a_prepared_process(tiny_db: Path, tmp_path: Path) -> None:
    """keurmerk.kernel_fork: the pool's kernels are children of the fork server, which Voilà started; they serve
    pages as any kernel does; when Voilà stops, the fork server and its kernels are gone. With
    ``fork_kernels=False`` the kernels are Voilà's own children again."""
    (tmp_path / "forked").mkdir()
    (tmp_path / "started").mkdir()
    with serving(tiny_db, tmp_path / "forked", max_kernels=3) as forked:
        kernels = forked.wait_for_kernels(1)
        forked.wait_for_pool()
        fork_server = {psutil.Process(pid).ppid() for pid in kernels.values()}
        assert len(fork_server) == 1 and fork_server != {forked.process.pid}
        command = psutil.Process(fork_server.pop()).cmdline()
        assert command[-3].endswith("kernel_fork.py") and Path(command[-2]).is_socket()
        assert command[-1] == str(forked.process.pid)  # it ends when Voilà does
        # a prepared kernel computes on one polars thread (keurmerk.serve.KERNEL_ENV), whatever the cores
        for pid in kernels.values():
            tasks = Path(f"/proc/{pid}/task")
            threads = [(tasks / task / "comm").read_text().strip() for task in os.listdir(tasks)]
            assert [name for name in threads if re.fullmatch(r"polars-\d+", name)] == ["polars-0"], threads
        status, _, page = get(forked.link())
        assert status == 200 and "application/vnd.jupyter.widget-view+json" in page and "toegang" not in page
        everything = [forked.process.pid, *descendants(forked.process.pid)]
    time.sleep(1)
    assert not [pid for pid in everything if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert not Path(command[-2]).parent.exists()  # its private folder with the socket
    with serving(tiny_db, tmp_path / "started", max_kernels=3, extra=("--KeurmerkVoila.fork_kernels=False",)) as plain:
        kernels = plain.wait_for_kernels(1)
        assert {psutil.Process(pid).ppid() for pid in kernels.values()} == {plain.process.pid}


def test_a_page_without_pre_heated_kernels(tiny_db: Path, tmp_path: Path) -> None:
    """With pre-heating off (a kernel started for each request, as bench/dashboard.py's cold render runs Voilà),
    a provider page is still served: the kernel budget reads Voilà's pools only where there are any."""
    with serving(tiny_db, tmp_path, max_kernels=2, pre_heated=False) as cold:
        assert cold.kernels() == {}  # nothing started before the visitor
        status, _, page = get(cold.link(), timeout=90)
        assert status == 200 and "application/vnd.jupyter.widget-view+json" in page


def test_budget_busy_page_and_culling(server: Server) -> None:
    """max_kernels 3, pool 1: three visitors get a kernel (the pool is refilled while there is room), the fourth
    the busy page and no kernel. The pages never open a WebSocket, so their kernels are culled within about a
    minute, and then the busy visitor gets in."""
    server.wait_for_kernels(1)
    visitors = set()
    for provider in ("P0000", "P0001", "P0002"):
        visitors.add(kernel_id_of(get(server.link(provider))[2]))
        time.sleep(6)  # the pool refill (fill delay 5 s), if the budget has room
    assert len(server.kernels()) == 3 and visitors == set(server.kernels())
    status, headers, page = get(server.link("P0003"))
    assert status == 503 and "Het is even druk" in page and 'http-equiv="refresh"' in page
    assert headers.get("Retry-After") and "kernelId" not in page
    time.sleep(2)
    assert set(server.kernels()) == visitors
    started = time.monotonic()
    while visitors & set(server.kernels()):
        assert time.monotonic() - started < 75, "kernels of pages without a WebSocket outlived a minute"
        time.sleep(1)
    server.wait_for_kernels(1)
    assert get(server.link("P0003"))[0] == 200


def _pool_kernel(server: Server) -> tuple[str, int]:
    """The pool's prepared kernel, once earlier visitors' kernels are culled and any refill has started."""
    time.sleep(6)  # a refill starts 5 s after a visit
    server.wait_for_kernels(1)
    server.wait_for_pool()
    ((kernel_id, pid),) = server.wait_for_kernels(1).items()
    return kernel_id, pid


def test_a_stalled_kernel_gets_try_again_in_seconds(server: Server) -> None:
    _, pid = _pool_kernel(server)
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    try:
        status, _, page = get(server.link(), timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the server has ended it, as it should
            os.kill(pid, signal.SIGCONT)
    assert time.monotonic() - started < STALL_S + 8  # the stall limit, and a busy shared machine
    assert "Probeer het opnieuw" in page
    time.sleep(1)
    assert pid not in server.kernels().values()


def test_a_dying_kernel_gets_try_again_in_seconds(server: Server) -> None:
    _, pid = _pool_kernel(server)
    os.kill(pid, signal.SIGSTOP)  # hold the page mid-way ...
    result = {}
    visit = threading.Thread(target=lambda: result.update(page=get(server.link(), timeout=60)))
    visit.start()
    time.sleep(1.5)
    os.kill(pid, signal.SIGKILL)  # ... and let the kernel die there
    killed = time.monotonic()
    visit.join(timeout=30)
    assert not visit.is_alive(), "the visit hung"
    assert time.monotonic() - killed < 6  # seconds, not the 10 minutes of a hung request
    assert "Probeer het opnieuw" in result["page"][2]


def test_fresh_after_a_publication(tiny_files: list[Path], tmp_path: Path) -> None:
    """Serve, let the pool fill, publish a delivery that renames a provider and adds an invitation: the very next
    visit shows the new name (the page title comes from the kernel's snapshot)."""
    from keurmerk.ingest import ingest

    db = tmp_path / "w.duckdb"
    ingest(db, tiny_files)
    with serving(db, tmp_path, max_kernels=3) as fresh:
        fresh.wait_for_kernels(1)
        fresh.wait_for_pool()
        status, _, page = get(fresh.link("P0000"))
        assert status == 200 and "Partner in Werk" in page and "Nieuw" not in page
        fresh.wait_for_kernels(2)  # the refilled pool kernel is prepared on the old snapshot
        fresh.wait_for_pool()
        delivery = tmp_path / "hernoemd.csv"
        delivery.write_text(
            "period;provider_id;provider_name;respondent_id;audience;service;province;questionnaire;mode;reminded;status\n"
            "2021;P0000;Partner in Werk Nieuw;R2021HERNOEMD;client;8;PV28;regular;email;false;delivered\n"
        )
        report = ingest(db, [delivery])
        assert not report.nothing_loaded
        status, _, page = get(fresh.link("P0000"))
        assert status == 200 and "Partner in Werk Nieuw" in page


def test_default_pools_follow_the_budget(tmp_path: Path) -> None:
    """By default the provider dashboard's pool is a third of the budget, at most 10 per core; others get 1."""
    assert default_pool_size(57, cores=2) == 19 and default_pool_size(90, cores=2) == 20
    assert default_pool_size(3, cores=2) == 1 and default_pool_size(2, cores=8) == 1
    dashboards = tmp_path / "dashboards"
    dashboards.mkdir()
    for name in ("aanbieder.ipynb", "benchmark.ipynb"):
        shutil.copy(DASHBOARDS / name, dashboards / name)
    argv = voila_command(tmp_path / "w.duckdb", 9123, dashboards_dir=dashboards, max_kernels=12).argv
    assert "--pool_size=1" in argv and f"--KeurmerkVoila.pool_sizes=aanbieder.ipynb={default_pool_size(12)}" in argv
    argv = voila_command(tmp_path / "w.duckdb", 9123, dashboards_dir=dashboards, max_kernels=12, pool_size=3).argv
    assert "--pool_size=3" in argv and not any("pool_sizes" in arg for arg in argv)
    with pytest.raises(ValueError, match="te klein"):
        voila_command(tmp_path / "w.duckdb", 9123, dashboards_dir=dashboards, max_kernels=4, pool_size=2)


def test_pools_per_dashboard_refill_one_kernel_at_a_time(tiny_db: Path, tmp_path: Path) -> None:
    """The default pools (provider dashboard 2 with a budget of 7, the staff's 1) fill; two provider visits at
    once take both pre-heated kernels, and the refill starts its two kernels one after the other: the second
    only once the first is prepared, so that a refill leaves cores to the visitors."""
    assert default_pool_size(7) == 2
    with serving(tiny_db, tmp_path, max_kernels=7, notebooks=("aanbieder.ipynb", "benchmark.ipynb"),
                 pool_size=None) as server:
        pool = server.wait_for_kernels(3)
        server.wait_for_pool()
        results = []
        visits = [threading.Thread(target=lambda p=p: results.append(get(server.link(p)))) for p in ("P0000", "P0001")]
        for visit in visits:
            visit.start()
        for visit in visits:
            visit.join(120)
        assert [status for status, _, _ in results] == [200, 200]
        visitors = {kernel_id_of(page) for _, _, page in results}
        assert visitors <= set(pool)  # both found a pre-heated kernel
        kernels = server.wait_for_kernels(5, timeout=120)  # 2 visitors + 2 refilled + the staff dashboard's 1
        refill = sorted(psutil.Process(pid).create_time() for kid, pid in kernels.items() if kid not in pool)
        assert len(refill) == 2
        assert refill[1] - refill[0] > 1.0, "the refill started both kernels at once"

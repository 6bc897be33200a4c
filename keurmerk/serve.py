"""Serve the dashboards (``dashboards/*.ipynb``) with Voilà: on 127.0.0.1 only, nothing loaded from a CDN.

The server process is :mod:`keurmerk.voila_app` (Voilà with the Dutch shell, the static public search at
``/zoeken/``, gzip, the kernel budget and its watchdog); this module builds its command line.

``voila_command`` builds the command line and environment, ``running`` starts it and stops it again (Voilà
and its kernels), so tests and benchmarks run exactly what ``keurmerk serve`` runs; ``serve`` prints the
address once Voilà listens and runs until Ctrl-C or SIGTERM.

What the command sets, and why:

- ``--Voila.ip=127.0.0.1``: never reachable from outside; TLS and exposure are the reverse proxy's
  business (deploy/nginx). ``--Voila.base_url=/wN/``: a worker's prefix behind nginx. ``--Voila.port_retries=0``: a busy port fails instead of Voilà moving to another one.
- ``--template=keurmerk`` (``keurmerk/voila_template``, put on ``JUPYTER_PATH``): Voilà's ``lab`` template
  without its CDN links, serving the Vega runtime of :class:`keurmerk.charts.ChartWidget` itself. Template and
  theme overrides from the URL (``?voila-template=lab``) are disabled, or they would bring the CDN back.
- ``--Voila.config_file_paths=keurmerk/voila_template``: its ``voila.json`` adds response headers, above all
  a Content-Security-Policy that lets the browser load nothing from another origin (so a future dashboard
  cannot leak a request either); and no stray ``./voila.json`` of the working directory is read.
- ``--VoilaConfiguration.extension_allowlist``: only the widget front ends the dashboards use are sent.
- ``--show_tracebacks=False --strip_sources=True``: a visitor sees neither code nor stack traces.
- ``--preheat_kernel=True --pool_size=1 --KeurmerkVoila.pool_sizes=aanbieder.ipynb=N``: pre-heated kernels
  run a notebook before anyone asks; the provider dashboard gets N (:func:`default_pool_size`: a third of the
  kernel budget, at most 10 per core; 20 providers who open their link at the same moment need about 20 on 2 cores,
  ``bench/serving.py``), every other dashboard (the staff's) 1. ``pool_size`` sets every dashboard's pool instead.
- ``--VoilaKernelManager.fill_delay=5``: the pool is refilled 5 s after a visitor takes a kernel, not 1 s, so
  that the refill does not compete with that visitor's first render.
- ``--MappingKernelManager.cull_idle_timeout=45/cull_interval=15/cull_connected=False``: a kernel whose page has
  no WebSocket (closed, crashed, never connected) is shut down within about a minute; pre-heated kernels in the
  pool are exempt (Voilà skips them). A closed tab shuts its kernel down at once (the template makes Voilà's
  closing beacon pass the XSRF check).
- ``--KeurmerkVoila.max_kernels``: the kernel budget, pool included (:func:`default_max_kernels`).
- ``--KernelManager.transport=ipc``, ``autorestart=False``: kernel channels over Unix sockets in Voilà's private
  connection directory; a crashed kernel is not restarted (its page is gone; the visitor is told to reload).
- ``KEURMERK_DB``: the warehouse snapshot the kernels read (``database_path()`` inside a dashboard);
  ``KERNEL_ENV``: one polars thread per kernel.

Pattern for dashboard notebooks (pre-heated kernels run the cells *before* the request exists)::

    # 1. provider-independent, slow work first: it happens while the kernel waits in the pool
    import altair as alt
    from keurmerk.charts import ChartWidget, show
    from keurmerk.serve import database_path, query_params
    db = database_path()                       # open the read-only snapshot here
    # 2. then wait for the visitor: blocks until the browser's request reaches this kernel
    params = query_params()                    # {"token": "..."}; QUERY_STRING is empty before this call
    # 3. check the signed link, then query that provider only and build the widgets
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs

__all__ = [
    "DB_ENV",
    "HOST",
    "TEMPLATE",
    "TEMPLATE_ROOT",
    "VoilaLaunch",
    "database_path",
    "default_dashboards_dir",
    "default_max_kernels",
    "query_params",
    "running",
    "serve",
    "show",
    "stop",
    "voila_command",
    "wait_until_listening",
]

DB_ENV = "KEURMERK_DB"
DASHBOARDS_ENV = "KEURMERK_DASHBOARDS"
HOST = "127.0.0.1"
TEMPLATE = "keurmerk"
CHART_MODULE_ENV = "KEURMERK_CHART_MODULE"
TEMPLATE_ROOT = Path(__file__).resolve().parent / "voila_template"  # a Jupyter data dir: voila/templates/...
# Only the front-end extensions the dashboards need (Voilà's own ipywidgets 8 manager, the widget controls,
# anywidget); others installed in the same environment (jupytext, pygments, ...) would be dead weight.
LAB_EXTENSIONS = ("@voila-dashboards/widgets-manager8", "@jupyter-widgets/jupyterlab-manager", "anywidget")


@dataclass(frozen=True)
class VoilaLaunch:
    """A ready-to-run Voilà process: ``subprocess.Popen(launch.argv, env=launch.env)``."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    url: str  # the dashboards' index page
    port: int

    def dashboard_url(self, notebook: str) -> str:
        """Address of one dashboard, e.g. ``dashboard_url("placeholder.ipynb")``."""
        return f"{self.url}voila/render/{notebook}"


def default_dashboards_dir() -> Path:
    """``$KEURMERK_DASHBOARDS`` if set, else ``dashboards/`` next to the package (the repository checkout)."""
    if configured := os.environ.get(DASHBOARDS_ENV):
        return Path(configured).resolve()
    return Path(__file__).resolve().parent.parent / "dashboards"


FILL_DELAY_S = 5
CULL_IDLE_TIMEOUT = 45  # + CULL_INTERVAL: a kernel without a page is gone within about a minute
CULL_INTERVAL = 15
KERNEL_MB = 400  # what one dashboard kernel may grow to (DESIGN §8: 250-385 MB measured), for the default budget
RESERVED_MB = 1024  # the server itself, the OS, the warehouse's page cache


def default_max_kernels(total_mb: int | None = None) -> int:
    """The default kernel budget: (memory - 1 GB) / 400 MB, at least 3 (two pool kernels and one visitor)."""
    if total_mb is None:
        try:
            total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        except (ValueError, OSError, AttributeError):
            total_mb = 4096
    return max(3, (total_mb - RESERVED_MB) // KERNEL_MB)


PROVIDER_NOTEBOOK = "aanbieder.ipynb"  # the dashboard that many visitors open at once (links sent out together)
ARRIVALS_PER_CORE = 10  # pre-heated visits one core serves within ~5 s (a visit that finds its kernel: ~0,3 CPU-s)


def default_pool_size(max_kernels: int, cores: int | None = None) -> int:
    """The provider dashboard's default pool: a third of the kernel budget (the rest is for open pages), at most
    ``ARRIVALS_PER_CORE`` per core (more pre-heated kernels than the cores can serve at once only cost memory)."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(max_kernels // 3, ARRIVALS_PER_CORE * cores))


# For every dashboard kernel, unless the environment says otherwise. One polars thread: a kernel serves one visitor
# and computes on small frames, where polars' thread pool costs more CPU than it saves time (bench/staff.py, and
# compute_all for a provider page: less CPU and less wall time on one thread); the machine's cores serve the
# other visitors' kernels.
KERNEL_ENV = {"POLARS_MAX_THREADS": "1"}


def voila_command(
    db_path: Path,
    port: int = 8866,
    *,
    dashboards_dir: Path | None = None,
    pool_size: int | None = None,
    cull_idle_timeout: int = CULL_IDLE_TIMEOUT,
    cull_interval: int = CULL_INTERVAL,
    open_browser: bool = False,
    environ: Mapping[str, str] | None = None,
    max_kernels: int | None = None,
    site_dir: Path | None = None,
    base_url: str = "/",
) -> VoilaLaunch:
    """The Voilà command line and environment for serving the dashboards (see the module docstring)."""
    from keurmerk.site import default_site_dir

    dashboards = (dashboards_dir or default_dashboards_dir()).resolve()
    notebooks = sorted(path.name for path in dashboards.glob("*.ipynb"))
    if max_kernels is None:
        max_kernels = default_max_kernels()
    pools = dict.fromkeys(notebooks, 1 if pool_size is None else pool_size)
    per_notebook = {}  # pools that differ from --pool_size
    if pool_size is None and PROVIDER_NOTEBOOK in pools:
        pools[PROVIDER_NOTEBOOK] = max(1, min(default_pool_size(max_kernels), max_kernels - len(notebooks)))
        per_notebook = {PROVIDER_NOTEBOOK: pools[PROVIDER_NOTEBOOK]}
    if max_kernels < sum(pools.values()) + 1:
        raise ValueError(
            f"--max-kernels {max_kernels} is te klein: de pool alleen heeft er al {sum(pools.values())} "
            f"({', '.join(f'{name}: {size}' for name, size in pools.items())}), en een bezoeker heeft er één nodig"
        )
    env = dict(os.environ if environ is None else environ)
    env[DB_ENV] = str(Path(db_path).resolve())
    env["KEURMERK_SITE"] = str(Path(site_dir or default_site_dir(db_path)).resolve())
    env[CHART_MODULE_ENV] = "template"  # keurmerk.charts.widget: the chart module comes from the template
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    for name, value in KERNEL_ENV.items():
        env.setdefault(name, value)
    argv = (
        sys.executable,
        "-m",
        "keurmerk.voila_app",  # Voilà with the Dutch shell and the kernel budget
        str(dashboards),
        f"--Voila.ip={HOST}",
        f"--port={port}",
        f"--Voila.base_url={base_url}",
        "--Voila.port_retries=0",  # a busy port is an error, not a silent move to another port
        f"--Voila.open_browser={open_browser}",
        f"--Voila.config_file_paths={TEMPLATE_ROOT}",  # voila.json there: headers; ignore ./voila.json
        f"--template={TEMPLATE}",
        "--theme=light",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        *(f"--VoilaConfiguration.extension_allowlist={name}" for name in LAB_EXTENSIONS),
        "--show_tracebacks=False",
        "--strip_sources=True",
        "--preheat_kernel=True",
        f"--pool_size={1 if pool_size is None else pool_size}",
        *(f"--KeurmerkVoila.pool_sizes={name}={size}" for name, size in per_notebook.items()),
        f"--KeurmerkVoila.max_kernels={max_kernels}",
        # Kernels talk to the server over Unix sockets in Voilà's private connection directory: no TCP ports to
        # race for when kernels start together, nothing listening on the network.
        "--KernelManager.transport=ipc",
        # A dashboard kernel restarted after a crash has lost its page; the visitor is told to reload instead.
        "--KernelManager.autorestart=False",
        # Kernels of closed or never-connected pages (no WebSocket) end after a minute idle; an open page keeps
        # its kernel (cull_connected=False). Pool kernels are exempt (Voilà).
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=False",
        "--HTMLExporter.language_code=nl",
        # nbclient drops a cell's output when a busy kernel sends it late (4 s default; bench/dashboard.py under
        # load: 30 s still lost pages, 120 s none). A busy machine should make a page slower, never empty.
        "--VoilaExecutor.iopub_timeout=120",
        # Voilà refills the pool 1 s after a visitor takes a kernel; the refill (~8 CPU-s) then competes with
        # that visitor's first render on 2 cores. 5 s lets the render finish first (bench/dashboard.py).
        f"--VoilaKernelManager.fill_delay={FILL_DELAY_S}",
    )
    return VoilaLaunch(argv=argv, env=env, url=f"http://{HOST}:{port}{base_url}", port=port)


def wait_until_listening(port: int, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Voilà stopped with exit code {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout:.0f} s")


@contextlib.contextmanager
def running(launch: VoilaLaunch, *, log: IO[str] | None = None, timeout: float = 60.0) -> Iterator[subprocess.Popen]:
    """Start Voilà in its own session, wait until it listens, and stop it (and its kernels) on exit.

    Used by ``serve``, the browser tests and the benchmarks, so they all run the same server.
    """
    process = subprocess.Popen(
        launch.argv,
        env=dict(launch.env),
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )
    try:
        wait_until_listening(launch.port, timeout, process)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM Voilà (it shuts its kernels down), SIGKILL it after ``timeout``; then kill kernels it left.

    Kernels run in sessions of their own (jupyter_client), so they are found below Voilà beforehand.
    """
    below = descendants(process.pid)  # kernels, and the fork server they were forked from
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 10
    for pid in below:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; elsewhere none: ipykernel exits when its parent is gone).
    Kernels forked by keurmerk.kernel_fork are children of the fork server, not of Voilà."""
    from keurmerk.kernel_fork import proc_stat

    parents = {}
    for process in Path("/proc").glob("[0-9]*"):
        if (fields := proc_stat(process.name)) is not None:
            parents[int(process.name)] = int(fields[1])
    found, below = [], [pid]
    while below:
        parent = below.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        below += children
    return found


def kernel_pids(pid: int) -> list[int]:
    """The kernel processes below ``pid`` (a Voilà server): its kernels, not the fork server."""
    found = []
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            if b"ipykernel_launcher" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found


def serve(
    db_path: Path,
    port: int = 8866,
    open_browser: bool = False,
    *,
    dashboards_dir: Path | None = None,
    pool_size: int | None = None,
    max_kernels: int | None = None,
    site_dir: Path | None = None,
    base_url: str = "/",
) -> None:
    """Run Voilà for the dashboards until Ctrl-C or SIGTERM; prints the address once it listens.

    The public search is served from ``site_dir`` (default: the one every publication of ``db_path`` writes);
    written first if it is not there yet."""
    from keurmerk.site import DATA_FILE, default_site_dir, write_site

    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"warehouse not found: {db_path}")
    site_dir = Path(site_dir or default_site_dir(db_path))
    if not (site_dir / DATA_FILE).is_file():
        write_site(db_path, site_dir)
    launch = voila_command(
        db_path,
        port,
        dashboards_dir=dashboards_dir,
        pool_size=pool_size,
        max_kernels=max_kernels,
        site_dir=site_dir,
        base_url=base_url,
    )

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with running(launch) as process:
            print(f"Keurmerk: {launch.url}  ·  openbare zoekpagina: {launch.url}zoeken/  (stoppen: Ctrl-C)", flush=True)
            if open_browser:
                webbrowser.open(launch.url)
            process.wait()
        if process.returncode != 0:
            raise RuntimeError(f"Voilà stopped with exit code {process.returncode}")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- inside a dashboard kernel ------------------------------------------------------------------------------


def database_path() -> Path:
    """The warehouse snapshot this dashboard reads (``$KEURMERK_DB``, set by ``keurmerk serve``)."""
    value = os.environ.get(DB_ENV)
    if not value:
        raise RuntimeError(f"{DB_ENV} is not set: start the dashboards with `keurmerk serve --db PATH`")
    return Path(value)


def show(page, title: str | None = None) -> None:
    """Display a dashboard's page in the kernel's output.

    A refusal (``html.refusal``) is shown as plain HTML, not as a widget, with the marker that tells the server to
    end this kernel as soon as the page is out: a refused link keeps no kernel. ``title`` becomes the browser
    tab's title. A page's ``first_screen`` (the provider dashboard's: a static snapshot of its widgets, HTML) is
    shown first; the ``keurmerk`` template draws it before Voilà's front end is ready.
    """
    from IPython.display import HTML, Javascript, display

    from keurmerk.voila_app import RELEASE_MARKER

    value = getattr(page, "value", None)
    if isinstance(value, str) and 'data-km="refusal"' in value:
        display(HTML(f'{value}<span hidden data-km="{RELEASE_MARKER}"></span>'))
        page.close()
        return
    if first_screen := getattr(page, "first_screen", None):
        # drawn by the page before Voilà's front end has the live widgets (keurmerk.dashboard.first_screen)
        from keurmerk.dashboard.first_screen import bundle

        display(bundle(first_screen), raw=True)
    display(page)
    if title:
        display(Javascript(f"document.title = {json.dumps(title)};"))


def query_params() -> dict[str, str]:
    """The page's query parameters (first value of each), in a dashboard kernel.

    With pre-heated kernels the cells run before any request, and ``QUERY_STRING`` is empty; Voilà's
    ``get_query_string()`` blocks until the browser's request reaches this kernel. So call this *after* the
    provider-independent work, and only once. Outside Voilà (nbclient, JupyterLab) it returns at once, reading
    ``$QUERY_STRING`` if set.
    """
    try:
        from voila.utils import get_query_string
    except ImportError:  # pragma: no cover - voila is a dependency, but a research kernel may lack it
        query = os.environ.get("QUERY_STRING", "")
    else:
        query = get_query_string() or ""
    return {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}

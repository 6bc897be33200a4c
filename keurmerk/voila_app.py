"""The Voilà application behind ``keurmerk serve``: Voilà 0.5 with a Dutch shell and a kernel budget.

Run as ``python -m keurmerk.voila_app`` with Voilà's own options (``keurmerk.serve.voila_command`` builds them).
What it changes in :class:`voila.app.Voila`, and why:

- **The shell.** ``/`` is a short Dutch landing page; ``/zoeken/`` serves the static public search
  (:mod:`keurmerk.site`) without any kernel; the notebook listing (``/voila/tree``) and the contents API are not
  routed at all; every unknown URL and every error page is Dutch (templates ``404.html`` / ``error.html`` of the
  ``keurmerk`` template), never a traceback.
- **Compression and caching.** Tornado's ``compress_response`` gzips pages and JSON, and the kernels'
  WebSockets are compressed (permessage-deflate) and written without Nagle's delay (:class:`KernelSocket`);
  static files are gzipped
  once per file version and kept in memory (:class:`PreCompressed`); static files of Voilà whose name carries a
  content hash may be cached for a year, the rest revalidates by ETag.
- **A kernel budget** (``KeurmerkVoila.max_kernels``): the pool and the visitors' kernels together never exceed
  it. A visitor who would need a kernel beyond it gets the "het is even druk" page (HTTP 503, it retries by
  itself) and no kernel; the pool is refilled only within the budget, ``refill_concurrency`` kernels at a time
  (each until it is prepared), so that a refill of many kernels leaves cores to the visitors.
- **Forked kernels** (``KeurmerkVoila.fork_kernels``, on by default): kernels are forked from a process that has
  imported what every dashboard kernel imports (:mod:`keurmerk.kernel_fork`), instead of starting Python anew.
- **Fresh pool kernels.** A pre-heated kernel remembers the snapshot (inode, mtime, size of ``$KEURMERK_DB``) it
  was started on. When a publication replaces the file, pool kernels of the older snapshot are shut down and
  replaced, checked every second and again when a visitor arrives, so no visitor gets an older snapshot.
- **No kernel for a refused link.** A page that shows a refusal carries :data:`RELEASE_MARKER`
  (``keurmerk.serve.show``); once it is streamed the server shuts the kernel down.
- **No hang.** While a page streams, its kernel is watched: dead, restarted, or without CPU progress and without
  output for :attr:`KeurmerkVoila.stall_timeout` seconds, and the visitor gets "probeer het opnieuw" at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import ClassVar

import jinja2
import tornado.ioloop
import tornado.web
from jupyter_client.provisioning.factory import KernelProvisionerFactory
from jupyter_server.base.handlers import FileFindHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from nbclient.util import ensure_async
from traitlets import Bool, Dict, Float, Integer, Unicode
from voila.app import Voila
from voila.static_file_handler import MultiStaticFileHandler, TemplateStaticFileHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from keurmerk.kernel_fork import proc_stat
from keurmerk.warehouse import snapshot_stamp

__all__ = ["RELEASE_MARKER", "KeurmerkVoila", "main"]

RELEASE_MARKER = "keurmerk-release-kernel"  # in a page's output: the page needs its kernel no longer
DB_ENV = "KEURMERK_DB"
SITE_ENV = "KEURMERK_SITE"
FORKED = "keurmerk-forked"  # the kernel provisioner of keurmerk.kernel_fork
PAGES = Path(__file__).resolve().parent / "voila_template" / "voila" / "templates" / "keurmerk"
ERROR_TEMPLATES = ("404.html", "error.html", "_page.html")
LISTING = re.compile(r"/zoeken/periode-\d+-[0-9a-f]{12}\.json$")  # keurmerk.site: a period's listing
HASHED = re.compile(r"[.-][0-9a-f]{12,}\.(js|css|woff2?|svg|png)$")  # webpack chunks: the name is the version


# --- the kernel manager -------------------------------------------------------------------------------------


class KernelBudget:
    """Mixed into Voilà's pooling kernel manager (see :meth:`KeurmerkVoila.init_settings`)."""

    def budget_setup(self, app: KeurmerkVoila) -> None:
        self.max_kernels = app.max_kernels
        self.refill_gate = asyncio.Semaphore(max(1, app.refill_concurrency))
        self.db_path = os.environ.get(DB_ENV)
        self.stamps: dict[int, tuple | None] = {}  # id(pool task) -> snapshot stamp when it was started
        self.pool_target = {name: len(pool) for name, pool in getattr(self, "_pools", {}).items()}
        stamp = snapshot_stamp(self.db_path)
        for pool in getattr(self, "_pools", {}).values():
            for task in pool:
                self.stamps[id(task)] = stamp

    # counting
    def pending_pool(self) -> int:
        return sum(1 for pool in getattr(self, "_pools", {}).values() for task in pool if not task.done())

    def kernel_count(self) -> int:
        """Kernels running or starting (a pool kernel that is still starting may be counted twice: erring on
        the side of refusing)."""
        return len(self.list_kernel_ids()) + self.pending_pool()

    def has_room(self) -> bool:
        return self.max_kernels <= 0 or self.kernel_count() < self.max_kernels

    # the pool
    def fill_if_needed(self, delay=None, notebook_name=None, extra_kernel_env_variables=None, **kwargs):
        target = self.pool_target.get(notebook_name, 0)
        pool = getattr(self, "_pools", {}).get(notebook_name, [])
        room = target - len(pool)
        if self.max_kernels > 0:
            room = min(room, self.max_kernels - self.kernel_count())
        if room <= 0:
            return
        before = {id(task) for task in pool}
        stamp = snapshot_stamp(self.db_path)  # taken before the kernel opens the file: errs towards stale
        configured = self.kernel_pools_config  # per notebook (KeurmerkVoila.pool_sizes) and "default"
        default = dict(configured.get("default", {}))
        self.kernel_pools_config = {"default": {**default, "pool_size": len(pool) + room}}
        try:
            super().fill_if_needed(
                delay=delay,
                notebook_name=notebook_name,
                extra_kernel_env_variables=extra_kernel_env_variables or {},
                **kwargs,
            )
        finally:
            self.kernel_pools_config = configured
        for task in getattr(self, "_pools", {}).get(notebook_name, []):
            if id(task) not in before:
                self.stamps[id(task)] = stamp

    async def _initialize(self, notebook_path, kernel_id=None, **kwargs):
        """A pool kernel starts once fewer than ``refill_concurrency`` others are preparing: a refill of many
        kernels at once (after many visits, or a publication) would take every core from the visitors.
        A restart (``kernel_id`` given) is not a refill."""
        if kernel_id is not None:
            return await super()._initialize(notebook_path, kernel_id, **kwargs)
        await self.refill_gate.acquire()
        try:
            content = await super()._initialize(notebook_path, None, **kwargs)
        except BaseException:
            self.refill_gate.release()
            raise
        asyncio.ensure_future(self._release_when_prepared(content["kernel_id"]))
        return content  # a visitor may take the kernel at once; the gate waits for its preparation only

    async def _release_when_prepared(self, kernel_id: str, quiet: float = 0.5, limit: float = 60) -> None:
        """Release the refill gate once the kernel has used no CPU for ``quiet`` seconds (prepared: it waits for
        a visitor in the notebook's second cell), died, or after ``limit`` seconds."""
        loop = asyncio.get_running_loop()
        try:
            started = last_change = loop.time()
            ticks = None
            while loop.time() - started < limit:
                await asyncio.sleep(0.1)
                if kernel_id not in self:
                    return
                current = _cpu_ticks(getattr(self.get_kernel(kernel_id).provisioner, "pid", None))
                if current is None:
                    return
                if current != ticks:
                    ticks, last_change = current, loop.time()
                elif loop.time() - last_change >= quiet:
                    return
        finally:
            self.refill_gate.release()

    def refill_all(self, delay: float | None = None) -> None:
        for name in list(self.pool_target):
            self.fill_if_needed(delay=delay, notebook_name=name)

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        result = await super().shutdown_kernel(kernel_id, *args, **kwargs)
        self.refill_all()  # a freed place in the budget goes back to the pool
        return result

    async def discard_stale(self, notebook_name: str | None = None) -> int:
        """Shut down pool kernels of an older snapshot or whose process died; refill. How many went."""
        current = snapshot_stamp(self.db_path)
        gone = 0
        for name, pool in getattr(self, "_pools", {}).items():
            if notebook_name is not None and name != notebook_name:
                continue
            for task in list(pool):
                stale = self.stamps.get(id(task)) != current
                dead = False
                if task.done() and not stale:
                    try:
                        kernel_id = task.result()["kernel_id"]
                        dead = not await self.get_kernel(kernel_id).is_alive()
                    except Exception:
                        dead = True
                if stale or dead:
                    pool.remove(task)
                    self.stamps.pop(id(task), None)
                    gone += 1
                    asyncio.ensure_future(self._end_pool_task(task))
        pooled = {id(task) for pool in getattr(self, "_pools", {}).values() for task in pool}
        for key in set(self.stamps) - pooled:
            del self.stamps[key]  # tasks taken by visitors: their ids may be reused
        if gone:
            self.refill_all(delay=0)
        return gone

    async def _end_pool_task(self, task: asyncio.Task) -> None:
        with contextlib.suppress(Exception):
            content = await task
            content["task"].cancel()
            kernel_id = content["kernel_id"]
            if kernel_id in self:
                await super().shutdown_kernel(kernel_id, now=True)
        self.refill_all(delay=0)


class _Recorder:
    """The kernel manager as one request sees it: remembers which kernel this request got."""

    def __init__(self, manager) -> None:
        self._manager = manager
        self.kernel_id: str | None = None

    def __getattr__(self, name):
        return getattr(self._manager, name)

    async def get_rendered_notebook(self, *args, **kwargs):
        task, cache, kernel_id = await self._manager.get_rendered_notebook(*args, **kwargs)
        self.kernel_id = kernel_id
        return task, cache, kernel_id

    async def start_kernel(self, *args, **kwargs):
        self.kernel_id = await ensure_async(self._manager.start_kernel(*args, **kwargs))
        return self.kernel_id


def _cpu_ticks(pid: int | None) -> int | None:
    fields = None if pid is None else proc_stat(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])  # utime + stime


# --- handlers -----------------------------------------------------------------------------------------------


class DutchPages:
    """Render one of the keurmerk template's own pages (Dutch, no Voilà assets needed); errors as such a page."""

    def page(self, name: str, status: int = 200, **ns) -> None:
        template = self.settings["keurmerk_pages"].get_template(name)
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        base_url = self.settings.get("base_url", "/")
        self.finish(template.render(base_url=base_url, **ns))

    def write_error(self, status_code: int, **kwargs) -> None:
        self.page("404.html" if status_code == 404 else "error.html", status_code, status_code=status_code)


class PageHandler(DutchPages, TornadoVoilaHandler):
    """``/voila/render/<notebook>``: Voilà's page, within the kernel budget, watched for dead kernels."""

    def initialize(self, **kwargs):
        super().initialize(**kwargs)
        self._recorder = _Recorder(self.settings["kernel_manager"])

    @property
    def kernel_manager(self):
        return self._recorder

    async def get(self, path=None):
        manager = self._recorder._manager
        await manager.discard_stale(path)
        if not getattr(manager, "_pools", {}).get(path) and not manager.has_room():
            self.set_header("Retry-After", "10")
            self.set_header("Cache-Control", "no-store")
            return self.page("druk.html", 503)
        app = self.settings["keurmerk_app"]
        loop = asyncio.get_running_loop()
        chunks = self.get_generator(path=path).__aiter__()
        written = release = False
        progress_at = loop.time()  # last output or CPU progress of the kernel
        watched_pid = ticks = None
        while True:
            step = asyncio.ensure_future(chunks.__anext__())
            trouble = None
            while trouble is None and not (await asyncio.wait({step}, timeout=1.0))[0]:
                now = loop.time()
                kernel = self._kernel()
                if kernel is None:
                    if self._recorder.kernel_id is not None:
                        trouble = "gone"
                    elif now - progress_at > app.start_timeout:
                        trouble = "not started"
                    continue
                pid = getattr(kernel.provisioner, "pid", None)
                if not await kernel.is_alive():
                    trouble = "dead"
                elif watched_pid is not None and pid != watched_pid:
                    trouble = "restarted"
                else:
                    watched_pid, current = pid, _cpu_ticks(pid)
                    if current != ticks:
                        ticks, progress_at = current, now
                    elif now - progress_at > app.stall_timeout:
                        trouble = "stalled"
            if trouble is None:
                try:
                    html = step.result()
                except StopAsyncIteration:
                    break
                except tornado.web.HTTPError:
                    if not written:
                        raise  # the Dutch error page (404 for an unknown notebook)
                    trouble = "failed"
                except Exception:
                    self.log.exception("page %s failed", path)
                    trouble = "failed"
            if trouble is not None:
                step.cancel()
                self.log.warning("page %s: kernel %s %s", path, self._recorder.kernel_id, trouble)
                self._retry(written)  # the visitor first, then the kernel
                return await self._end_kernel()
            progress_at = loop.time()
            if html:
                release = release or RELEASE_MARKER in html
                self.write(html)
                self.flush()
                written = True
        kernel = self._kernel()
        if release:
            await self._end_kernel()  # a refusal: nothing on the page needs the kernel
        elif self._recorder.kernel_id is not None and (kernel is None or not await kernel.is_alive()):
            self._retry(written)
            await self._end_kernel()

    def _kernel(self):
        kernel_id = self._recorder.kernel_id
        manager = self._recorder._manager
        return manager.get_kernel(kernel_id) if kernel_id and kernel_id in manager else None

    async def _end_kernel(self) -> None:
        kernel_id = self._recorder.kernel_id
        manager = self._recorder._manager
        if kernel_id and kernel_id in manager:
            with contextlib.suppress(Exception):
                await manager.shutdown_kernel(kernel_id, now=True)

    def _retry(self, written: bool) -> None:
        if not written:
            self.set_header("Cache-Control", "no-store")
            return self.page("opnieuw.html", 503)
        # the page's head is out already: cover it with the same message
        template = self.settings["keurmerk_pages"].get_template("opnieuw-fragment.html")
        self.finish(template.render(base_url=self.base_url))


class LandingHandler(DutchPages, JupyterHandler):
    def get(self):
        self.set_header("Cache-Control", "no-cache")
        self.page("landing.html")


class NotFoundHandler(DutchPages, JupyterHandler):
    """Every URL that no other handler takes: the Dutch 404 page."""

    def prepare(self):
        self.page("404.html", 404)


class PreCompressed:
    """Static files gzipped once per file version, not on every request: Tornado's ``compress_response``
    compresses each response anew, and every visit of a dashboard loads the same ~6 MB of scripts (a CPU cost per
    visit, paid while the visitor's kernel needs the cores). Mixed into the static handlers in front of Tornado's
    StaticFileHandler; a range request, or a client without gzip, gets the file as it is."""

    _gzipped: ClassVar[dict[str, tuple[tuple[int, int], bytes]]] = {}  # path -> ((mtime, size), gzip body)

    def set_headers(self) -> None:
        super().set_headers()
        body = self._gzipped_body()
        if body is not None:
            self.set_header("Content-Encoding", "gzip")  # Tornado's transform leaves an encoded body alone
            # Tornado's get() reads the size and the content from these two (get_content is a classmethod
            # elsewhere: the instance attribute shadows it for this response only)
            self.get_content_size = lambda: len(body)
            self.get_content = lambda *_: [body]

    def _gzipped_body(self) -> bytes | None:
        headers = self.request.headers
        content_type = (self._headers.get("Content-Type") or "").split(";")[0]
        if "gzip" not in headers.get("Accept-Encoding", "") or "Range" in headers or not (
            content_type.startswith("text/") or content_type in tornado.web.GZipContentEncoding.CONTENT_TYPES
        ):
            return None
        stat = os.stat(self.absolute_path)
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._gzipped.get(self.absolute_path)
        if cached is None or cached[0] != version:  # a publication rewrites the public search's files
            body = gzip.compress(Path(self.absolute_path).read_bytes(), compresslevel=9, mtime=0)
            self._gzipped[self.absolute_path] = cached = (version, body)
        return cached[1]


class SiteHandler(DutchPages, PreCompressed, FileFindHandler):
    """The static public search: revalidated on every visit (a publication rewrites it), never a kernel."""

    def parse_url_path(self, url_path: str) -> str:
        if url_path == "" or url_path.endswith("/"):
            url_path += "index.html"  # FileFindHandler looks files up by name: no directory default of its own
        return super().parse_url_path(url_path)

    def set_headers(self) -> None:
        super().set_headers()
        if LISTING.search(self.request.path):
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")  # named by its content
        else:
            self.set_header("Cache-Control", "no-cache")


class _Cacheable(DutchPages):
    def set_extra_headers(self, path: str) -> None:
        if HASHED.search(path) or self.get_argument("v", None):
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.set_header("Cache-Control", "no-cache")  # revalidated by ETag: a 304 costs no body


class CachedFileFindHandler(DutchPages, PreCompressed, FileFindHandler):
    def set_headers(self) -> None:
        super().set_headers()
        path = self.request.path
        if HASHED.search(path) or self.get_argument("v", None):
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")


class CachedStaticHandler(_Cacheable, PreCompressed, MultiStaticFileHandler):
    pass


class CachedTemplateStaticHandler(_Cacheable, PreCompressed, TemplateStaticFileHandler):
    def parse_url_path(self, path):
        if len(path.split("/", 2)) < 3 or path.split("/", 2)[1] != "static":
            raise tornado.web.HTTPError(404)  # Voilà asserts here: a 500 for an odd URL
        return super().parse_url_path(path)


class _ErrorPages(jinja2.BaseLoader):
    """The Dutch error pages for Jupyter's own handlers (static files, kernels API): only these names."""

    def __init__(self) -> None:
        self._files = jinja2.FileSystemLoader(str(PAGES))

    def get_source(self, environment, template):
        if template not in ERROR_TEMPLATES:
            raise jinja2.TemplateNotFound(template)
        return self._files.get_source(environment, template)


# --- the application ------------------------------------------------------------------------------------------


class KernelSocket(VoilaKernelWebsocketHandler):
    """A page's WebSocket to its kernel, without Nagle's algorithm: a filter change is dozens of small widget
    messages, and each one written while the one before was not yet acknowledged would otherwise wait for it."""

    async def open(self, kernel_id):
        self.set_nodelay(True)
        return await super().open(kernel_id)


class KeurmerkVoila(Voila):
    max_kernels = Integer(0, config=True, help="Most kernels at once, the pool included (0: no limit).")
    site_dir = Unicode("", config=True, help="The static public search (keurmerk.site), served at /zoeken/.")
    stall_timeout = Float(20, config=True, help="A page whose kernel neither outputs nor computes this long fails.")
    start_timeout = Float(60, config=True, help="A page whose kernel is not there after this long fails.")
    pool_sizes = Dict(
        value_trait=Integer(), config=True, help="Pre-heated kernels per notebook (its name); others: --pool_size."
    )
    refill_concurrency = Integer(
        1, config=True, help="Pool kernels that start and prepare at the same time (the rest of the cores: visitors)."
    )

    fork_kernels = Bool(
        True, config=True, help="Kernels forked from a prepared process (keurmerk.kernel_fork), not started anew."
    )

    def init_settings(self):
        if self.fork_kernels:
            KernelProvisionerFactory.provisioners[FORKED] = EntryPoint(
                FORKED, "keurmerk.kernel_fork:ForkedProvisioner", KernelProvisionerFactory.GROUP_NAME
            )
            self.config.KernelProvisionerFactory.default_provisioner_name = FORKED
        if self.pool_sizes:  # Voilà's own per-notebook pools; read when Voilà makes its kernel manager
            default = {"pool_size": self.voila_configuration.default_pool_size}
            self.config.VoilaKernelManager.kernel_pools_config = {
                "default": default,
                **{name: {"pool_size": size} for name, size in self.pool_sizes.items()},
            }
        settings = super().init_settings()
        manager = self.kernel_manager
        manager.__class__ = type("KeurmerkKernelManager", (KernelBudget, type(manager)), {})
        manager.budget_setup(self)
        pages = jinja2.Environment(loader=jinja2.FileSystemLoader(str(PAGES)), autoescape=True)
        server_env = settings["jinja2_env"]
        server_env.loader = jinja2.ChoiceLoader([_ErrorPages(), server_env.loader])
        return {
            **settings,
            "keurmerk_app": self,
            "keurmerk_pages": pages,
            "compress_response": True,
            # permessage-deflate on the kernels' WebSockets: the widgets' state is JSON (every chapter's charts
            # go to the page in the background)
            "websocket_compression_options": {},
            "default_handler_class": NotFoundHandler,
        }

    def init_handlers(self):
        replace = {
            MultiStaticFileHandler: CachedStaticHandler,
            TemplateStaticFileHandler: CachedTemplateStaticHandler,
            TornadoVoilaHandler: PageHandler,
            VoilaKernelWebsocketHandler: KernelSocket,
        }
        handlers = []
        for spec in super().init_handlers():
            pattern, handler, *rest = spec
            if handler in (TornadoVoilaTreeHandler, VoilaContentsHandler):
                continue  # no listing of the notebooks, no contents API
            if handler is FileFindHandler and "labextensions" in pattern:
                handler = CachedFileFindHandler
            handlers.append((pattern, replace.get(handler, handler), *rest))
        site = self.site_dir or os.environ.get(SITE_ENV, "")
        own = [(url_path_join(self.server_url, r"/?"), LandingHandler)]
        if self.server_url != "/":
            own.append((r"/", LandingHandler))  # behind nginx the landing page is "/", whichever worker serves it
        if site:
            own += [
                (url_path_join(self.server_url, r"/zoeken"), tornado.web.RedirectHandler, {"url": "zoeken/"}),
                (
                    url_path_join(self.server_url, r"/zoeken/(.*)"),
                    SiteHandler,
                    {"path": [site], "default_filename": "index.html"},
                ),
            ]
        return own + handlers

    def listen(self):
        # publications are noticed within a second, also when nobody visits
        manager = self.kernel_manager
        self._freshness = tornado.ioloop.PeriodicCallback(lambda: asyncio.ensure_future(manager.discard_stale()), 1000)
        self._freshness.start()
        super().listen()


main = KeurmerkVoila.launch_instance

if __name__ == "__main__":
    main()

"""Dashboard kernels forked from a prepared Python process, instead of each starting Python from scratch.

Every dashboard kernel imports the same modules (ipykernel, DuckDB, Altair, ipywidgets, polars, keurmerk) before
it does anything of its own: most of the CPU a pre-heated kernel costs, paid again for every visitor. Here a
*fork server* imports those that can be shared (:data:`PRELOAD`) once and forks a kernel per request:

- :class:`ForkedProvisioner` is a jupyter_client kernel provisioner (``keurmerk serve`` makes it Voilà's
  default, :class:`keurmerk.voila_app.KeurmerkVoila`). For the standard ``python -m ipykernel_launcher -f
  <connection file>`` command it asks the fork server for a kernel; the kernel manager then talks to that
  process as to any other (the connection file, signals to its process group, polling its pid). Any other
  command is started as jupyter_client always does.
- The fork server (``python keurmerk/kernel_fork.py SOCKET VOILA_PID``: this file as a script, so that the keurmerk
  package, and polars with it, is not imported; started by the first launch, one per Voilà process) imports :data:`PRELOAD`, freezes the garbage collector's view of those objects (so that the children
  share their memory pages instead of copying them) and then forks on each request on its Unix socket. It runs
  no thread and opens no database before it forks (neither survives a fork): everything a kernel reads, it
  opens itself. The child starts its own session, takes the environment and working directory of the request,
  and runs ipykernel.
- The server ends with Voilà (parent-death signal) and takes its kernels with it; a kernel ends when the
  server is gone (ipykernel's parent poller), as it ended with Voilà before. The server only accepts and forks,
  so it holds little memory of its own: the last process the out-of-memory killer would pick.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, ClassVar

import setproctitle
from jupyter_client.provisioning import LocalProvisioner

__all__ = ["BLOCKED", "ForkedProvisioner", "PRELOAD", "preload"]

# What every dashboard kernel imports and that starts no thread. Not polars (nor keurmerk, which imports it):
# importing polars starts its allocator's and its out-of-core memory manager's threads, and a forked child would
# inherit their locks but not the threads.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.debugger", "duckdb", "altair", "ipywidgets", "anywidget", "vl_convert",
           "babel.numbers")
# Dashboard kernels have no debugger: nobody debugs a visitor's page, and importing debugpy was a third of a
# kernel's start in ipykernel. With it blocked, ipykernel.debugger finds it unavailable, the kernel says so in
# its kernel_info and answers no debug request.
BLOCKED = ("debugpy",)
NUMBER_LOCALE = "nl_NL"  # keurmerk.formatting.LOCALE: its number symbols are read once, here, for every kernel
STARTUP_TIMEOUT_S = 60.0
ORPHAN_CHECK_S = 5.0  # how often the fork server, while idle, checks that Voilà still runs
PR_SET_PDEATHSIG = 1


# --- the provisioner (in Voilà's process) ---------------------------------------------------------------------


class ForkedProcess:
    """What jupyter_client asks of a kernel's Popen, for a process that is not our child (the fork server's):
    alive while /proc/<pid> is the process we were given (its start time, so a reused pid is not mistaken)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stdin = self.stdout = self.stderr = None
        self._started = _start_time(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and (self._started is None or _start_time(self.pid) != self._started):
            self.returncode = 0  # its exit status went to the fork server, which reaps it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        return self.poll() or 0  # jupyter_client waits by polling first; an exit status is not ours to read

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command's name (state, ppid, …, as ``man 5 proc`` numbers
    them from 3), or None when the process is gone. The name, in parentheses, may itself hold spaces and ")"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> int | None:
    fields = proc_stat(pid)
    return None if fields is None or fields[0] == "Z" else int(fields[19])  # a zombie has ended


class ForkServer:
    """The fork server of this process: started on first use, started again if it died."""

    _current: ClassVar[ForkServer | None] = None
    failed: ClassVar[bool] = False  # it could not start once: not tried again in this process

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="keurmerk-fork-"))  # 0700: only this user may connect
        self.socket_path = self.directory / "fork.sock"
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(self.socket_path), str(os.getpid())],  # a script: see the docstring
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @classmethod
    async def running(cls) -> ForkServer:
        if cls.failed:
            raise RuntimeError("de kernelserver (keurmerk.kernel_fork) is niet gestart")
        server = cls._current
        if server is None or server.process.poll() is not None:
            server = cls._current = cls()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT_S
        while not server.socket_path.exists():  # bound once the imports are done
            if server.process.poll() is not None or loop.time() > deadline:
                cls.failed = True
                server.process.kill()
                raise RuntimeError("de kernelserver (keurmerk.kernel_fork) start niet")
            await asyncio.sleep(0.05)
        return server

    async def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        try:
            writer.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n")
            await writer.drain()
            answer = json.loads(await reader.readline())
        finally:
            writer.close()
        if "pid" not in answer:
            raise RuntimeError(f"de kernelserver kon geen kernel starten: {answer.get('error')}")
        return int(answer["pid"])


class ForkedProvisioner(LocalProvisioner):
    """LocalProvisioner whose IPython kernels are forked by the fork server (see the module docstring)."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if not _is_ipykernel(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        env = {**os.environ, **(kwargs.get("env") or {})}
        cwd = str(kwargs.get("cwd") or Path.cwd())
        try:
            server = await ForkServer.running()
        except RuntimeError as error:  # a kernel all the same, started as jupyter_client does
            self.log.warning("%s: de kernel wordt gewoon gestart", error)
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedProcess(await server.fork(cmd[3:], env, cwd))
        self.pid = self.pgid = self.process.pid  # the kernel leads a session of its own
        self.cwd = cwd
        return self.connection_info


def _is_ipykernel(cmd: list[str]) -> bool:
    return len(cmd) >= 5 and cmd[1:3] == ["-m", "ipykernel_launcher"] and cmd[3] == "-f"


# --- the fork server (its own process) ------------------------------------------------------------------------


def serve(socket_path: str, parent: int) -> None:
    """Serve forks on ``socket_path`` for as long as the process ``parent`` (Voilà, which started us) runs."""
    del sys.path[0]  # this file's folder (keurmerk/): its modules are not top-level ones
    with contextlib.suppress(OSError):  # end with the process that started us
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    children: set[int] = set()

    def end(*_: object) -> None:
        for pid in children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            os.unlink(socket_path)  # not there yet if it ends while it starts
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(socket_path))  # the private folder the provisioner made for it
        os._exit(0)

    signal.signal(signal.SIGTERM, end)
    if os.getppid() != parent:  # Voilà ended before the parent-death signal was set: it will not come
        end()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel itself; no zombies
    preload()
    if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
        raise SystemExit("keurmerk.kernel_fork: threads after the imports; forking would be unsafe")
    gc.collect()
    gc.freeze()  # the imported objects stay where they are: children share their pages
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".new")
    os.replace(socket_path + ".new", socket_path)  # the provisioner waits for this name: ready
    listener.listen(64)
    listener.settimeout(ORPHAN_CHECK_S)
    while True:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            if os.getppid() != parent:  # Voilà is gone, whatever the parent-death signal did
                end()
            continue
        connection.setblocking(True)
        with connection:
            try:
                request = json.loads(_read_line(connection))
                pid = os.fork()
            except Exception as error:  # a bad request or no memory: say so, keep serving
                connection.sendall(json.dumps({"error": str(error)}).encode() + b"\n")
                continue
            if pid == 0:
                listener.close()
                connection.close()
                run_kernel(request)
            children.add(pid)
            children.intersection_update(p for p in children if _start_time(p) is not None)
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def preload() -> None:
    """What every kernel forked from this process starts with: PRELOAD imported, BLOCKED made unimportable."""
    for name in BLOCKED:
        sys.modules[name] = None  # type: ignore[assignment]  # an import of it raises ImportError
    for name in PRELOAD:
        importlib.import_module(name)
    importlib.import_module("babel").Locale.parse(NUMBER_LOCALE).number_symbols  # noqa: B018 - loads the data


def _read_line(connection: socket.socket) -> bytes:
    # not connection.makefile(): a file object left to the garbage collector closes the socket's descriptor
    # later, in the child, when that number may belong to one of the kernel's ZeroMQ sockets
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def run_kernel(request: dict[str, Any]) -> None:
    """In the forked child: become the kernel ipykernel_launcher would have started."""
    try:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # its command line as jupyter_client would have started it (ps, and the tests that find kernels by
        # it); before the environment changes: setproctitle needs the process's original environment block
        setproctitle.setproctitle(" ".join([sys.executable, "-m", "ipykernel_launcher", *request["argv"]]))
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        # ipykernel ends when the fork server is gone (its parent poller; the trait's default was read from
        # the fork server's environment at import)
        argv = [*request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = [sys.executable, *argv]
        import ipywidgets
        from ipykernel import kernelapp

        app = kernelapp.IPKernelApp.instance()  # what kernelapp.launch_new_instance does, in two steps
        app.initialize(argv)
        # ipywidgets registers its comm targets when imported in a kernel; here it was imported before there was
        # one (PRELOAD). Without "jupyter.widget.control" the page's widget manager cannot ask for every widget's
        # state in one message: it asks widget by widget, each a message there and back and a busy and an idle.
        ipywidgets.register_comm_target()
        app.start()
    except SystemExit as done:
        os._exit(done.code if isinstance(done.code, int) else 0)
    except BaseException:  # noqa: BLE001 - a child must never return into the server's loop
        import traceback

        traceback.print_exc()
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))

"""Starting and stopping llama.cpp's OpenAI-compatible server on 127.0.0.1.

Two runtimes serve the same HTTP API with parallel slots and prompt caching:

- ``native``: a ``llama-server`` binary (``GPO_LLAMA_SERVER``, the one ``gpo models
  build-server`` compiled for this CPU, or one on ``PATH``): fastest;
- ``xllamacpp``: the prebuilt wheel of the ``local`` extra, run in a child process.

The child process watches its standard input and exits when the parent goes away, so a
killed optimizer never leaves a server behind.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from gpo.config import gpo_home
from gpo.errors import ConfigError, LMConnectionError

log = logging.getLogger(__name__)


def native_binary() -> Optional[str]:
    """The ``llama-server`` binary to use, if any.

    In order: ``GPO_LLAMA_SERVER``; the one ``gpo models build-server`` compiled for this
    CPU (``$GPO_HOME/bin/llama-server``); one on ``PATH``.
    """
    explicit = os.environ.get("GPO_LLAMA_SERVER")
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError(
                f"GPO_LLAMA_SERVER points at {explicit}, which does not exist",
                hint="unset it or give the path of a llama-server binary",
            )
        return explicit
    from gpo.lm.native_build import installed_server

    built = installed_server()
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    return shutil.which("llama-server")


def available_runtime() -> Optional[str]:
    """``native``, ``xllamacpp``, or ``None`` when no runtime is installed."""
    if native_binary():
        return "native"
    import importlib.util

    if importlib.util.find_spec("xllamacpp") is not None:
        return "xllamacpp"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """One llama.cpp server process serving one GGUF model on 127.0.0.1.

    Args:
        model_path: The GGUF file.
        parallel: Slots (requests decoded together with continuous batching).
        ctx_per_slot: Context length of each slot, in tokens.
        threads: CPU threads (default: ``$GPO_THREADS``, else :func:`default_threads`).
        runtime: ``auto``, ``native`` or ``xllamacpp``.
        startup_timeout: Seconds to wait for the model to load.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        parallel: int = 4,
        ctx_per_slot: int = 4096,
        threads: Optional[int] = None,
        runtime: str = "auto",
        startup_timeout: float = 300.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.parallel = parallel
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads or threads_from_environment() or default_threads()
        self.runtime = available_runtime() if runtime == "auto" else runtime
        if self.runtime is None:
            raise ConfigError(
                "no llama.cpp runtime is installed for local models",
                hint="pip install 'gpo[local]' (or set GPO_LLAMA_SERVER to a llama-server binary)",
            )
        self.startup_timeout = startup_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.url: Optional[str] = None
        self.log_path: Optional[Path] = None
        self._lock = threading.Lock()

    def _command(self, port: int) -> list[str]:
        ctx = str(self.ctx_per_slot * self.parallel)
        if self.runtime == "native":
            return [
                native_binary() or "llama-server",
                "-m", str(self.model_path),
                "--host", "127.0.0.1",
                "--port", str(port),
                "-np", str(self.parallel),
                "-c", ctx,
                "-t", str(self.threads),
                "--no-webui",
            ]
        return [
            sys.executable, "-m", "gpo.lm.xllamacpp_worker",
            "--model", str(self.model_path),
            "--port", str(port),
            "--parallel", str(self.parallel),
            "--ctx", ctx,
            "--threads", str(self.threads),
        ]

    def start(self) -> str:
        """Starts the server and waits until it answers; returns its ``…/v1`` URL."""
        with self._lock:
            return self._start()

    def _start(self) -> str:
        if self.proc is not None and self.proc.poll() is None and self.url:
            return self.url
        port = _free_port()
        logs = gpo_home() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"llama-server-{port}.log"
        log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self._command(port),
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LMConnectionError(
                    f"the local model server exited while loading {self.model_path.name} "
                    f"(code {self.proc.returncode})",
                    hint=f"see {self.log_path}",
                )
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as r:
                    if r.status == 200 and json.loads(r.read() or b"{}").get("status", "ok") == "ok":
                        self.url = base + "/v1"
                        log.info("local model server ready at %s (%s)", self.url, self.runtime)
                        return self.url
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise LMConnectionError(
            f"the local model server did not start within {self.startup_timeout:.0f} s",
            hint=f"see {self.log_path}",
        )

    def stop(self) -> None:
        """Stops the server process (idempotent)."""
        proc, self.proc, self.url = self.proc, None, None
        if proc is None or proc.poll() is not None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.terminate()
            proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            proc.kill()
            proc.wait(timeout=10)


def idle_cores(window: float = 0.3) -> Optional[float]:
    """How many cores were idle over a short window (Linux ``/proc/stat``; ``None`` elsewhere)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)

    try:
        total0, idle0 = sample()
        time.sleep(window)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return (idle1 - idle0) / (total1 - total0) * (os.cpu_count() or 1)


def default_threads() -> int:
    """Threads of a local server when none are asked for: the cores that are idle now.

    llama.cpp's CPU kernels wait for all their threads at every step, so a server with a
    thread on a core another process is using slows down many times over (measured on 2
    cores next to one busy process: 8 examples took 256 s with 2 threads and 19 s with 1),
    while on idle cores every thread helps (10 s with 2, 18 s with 1). So the server takes
    the cores that were idle when it started (at least one); where that cannot be measured,
    half the cores. ``benchmarks/threads.py`` measures the choice idle and under load.
    """
    cores = os.cpu_count() or 2
    idle = idle_cores()
    if idle is None:
        return max(1, cores // 2)
    return max(1, min(cores, int(idle + 0.25)))


def threads_from_environment() -> Optional[int]:
    """``GPO_THREADS`` as a thread count (``None`` when unset).

    Raises:
        ConfigError: It is not a positive whole number.
    """
    raw = os.environ.get("GPO_THREADS", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"GPO_THREADS must be a whole number of threads, at least 1; got {raw!r}", hint="unset it for the default")
    return int(raw)


_servers: dict[tuple, LlamaServer] = {}
_servers_lock = threading.Lock()


def shared_server(model_path: Path, **settings) -> LlamaServer:
    """The process-wide server for one model and settings, created on first use."""
    key = (str(model_path), tuple(sorted(settings.items())))
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = LlamaServer(model_path, **settings)
            _servers[key] = server
        return server


def stop_all() -> None:
    """Stops every server this process started."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for s in servers:
        s.stop()


atexit.register(stop_all)

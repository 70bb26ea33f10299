"""Compiling llama.cpp's ``llama-server`` for this machine's CPU.

The ``local`` extra serves models with a prebuilt, generic wheel. A build with
``-march=native`` (``GGML_NATIVE``) uses every vector instruction this CPU has and
processed prompts markedly faster here; :func:`build_native_server` makes one from the
llama.cpp sources that ship inside the ``llama-cpp-python`` source package on PyPI (so it
needs only the package index, a C++ compiler and cmake) and installs it as
``$GPO_HOME/bin/llama-server``, where the local backend finds it (see
:func:`gpo.lm.llama_server.native_binary`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Callable, Optional

from gpo.config import gpo_home
from gpo.errors import ConfigError
from gpo.fileio import atomic_output

LLAMA_CPP_PYTHON = "0.3.36"
"""The ``llama-cpp-python`` source release whose bundled llama.cpp is compiled."""

CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=ON",  # -march=native: this CPU's vector instructions
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # no download while configuring
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
)


NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
"""Compiler flags that keep ggml's AMX kernels out of a ``-march=native`` build.

Some virtual machines advertise AMX and even run a lone tile instruction, yet ggml's AMX
matrix kernels die there with SIGILL on the first product; the vector (AVX2/AVX-512)
kernels are as fast for models this size on a few cores. ``amx=True`` keeps AMX.
"""


def installed_server() -> Path:
    """Where the compiled server is installed: ``$GPO_HOME/bin/llama-server``."""
    return gpo_home() / "bin" / "llama-server"


def _run(cmd: list[str], log: Callable[[str], None]) -> None:
    log("running: " + " ".join(cmd))
    if subprocess.call(cmd) != 0:
        raise ConfigError(f"{Path(cmd[0]).name} failed while building llama-server", hint="see its output above")


def build_native_server(
    *,
    jobs: Optional[int] = None,
    source: Optional[Path] = None,
    amx: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Downloads, configures and compiles ``llama-server`` with native CPU flags.

    Args:
        jobs: Parallel compile jobs (default: the number of cores).
        source: A ``llama-cpp-python`` source archive (``.tar.gz``) or an unpacked llama.cpp
            tree to build from instead of downloading one.
        amx: Keep ggml's AMX kernels (see :data:`NO_AMX`).
        log: Where progress lines go.

    Returns:
        The installed binary.

    Raises:
        ConfigError: cmake or a C++ compiler is missing, or a step failed.
    """
    cmake = shutil.which("cmake")
    compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if not cmake or not compiler:
        missing = "cmake" if not cmake else "a C++ compiler"
        raise ConfigError(f"building llama-server needs {missing}", hint="install cmake and g++ (e.g. apt install cmake g++)")
    work = gpo_home() / "build" / f"llama-cpp-python-{LLAMA_CPP_PYTHON}"
    work.mkdir(parents=True, exist_ok=True)
    tree = _source_tree(source, work, log)
    build = work / "build"
    flags = list(CMAKE_FLAGS)
    if not amx and _accepts(compiler, NO_AMX.split(), work):
        flags += [f"-DCMAKE_C_FLAGS={NO_AMX}", f"-DCMAKE_CXX_FLAGS={NO_AMX}"]
    _run([cmake, "-S", str(tree), "-B", str(build), *flags], log)
    _run([cmake, "--build", str(build), "--target", "llama-server", "-j", str(jobs or os.cpu_count() or 2)], log)
    built = build / "bin" / "llama-server"
    if not built.is_file():
        raise ConfigError(f"the build finished without {built}", hint="see cmake's output above")
    target = installed_server()
    with atomic_output(target, "wb") as out, open(built, "rb") as src:
        shutil.copyfileobj(src, out)
    target.chmod(0o755)
    log(f"installed {target}")
    return target


def _accepts(compiler: str, flags: list[str], work: Path) -> bool:
    """Whether the compiler knows these flags (older ones have no AMX options, nor AMX)."""
    src = work / "flags_probe.cpp"
    src.write_text("int main() { return 0; }\n")
    done = subprocess.run([compiler, *flags, "-c", str(src), "-o", str(work / "flags_probe.o")], capture_output=True)
    return done.returncode == 0


def _source_tree(source: Optional[Path], work: Path, log: Callable[[str], None]) -> Path:
    """The llama.cpp source folder: given, unpacked from an archive, or downloaded."""
    if source is not None and Path(source).is_dir():
        return Path(source)
    archive = Path(source) if source is not None else None
    if archive is None:
        found = sorted(work.glob(f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz"))
        if not found:
            _run(
                [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                 f"llama-cpp-python=={LLAMA_CPP_PYTHON}", "-d", str(work)],
                log,
            )
            found = sorted(work.glob(f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz"))
        if not found:
            raise ConfigError("pip downloaded no llama-cpp-python source archive", hint="see pip's output above")
        archive = found[0]
    unpacked = work / "src"
    if not (unpacked / "done").exists():
        shutil.rmtree(unpacked, ignore_errors=True)
        log(f"unpacking {archive}")
        with tarfile.open(archive) as tar:
            try:
                tar.extractall(unpacked, filter="data")
            except TypeError:  # Python without extraction filters (before 3.10.12)
                tar.extractall(unpacked)  # noqa: S202 - PyPI's llama-cpp-python sdist
        (unpacked / "done").touch()
    trees = [p.parent for p in unpacked.glob("*/vendor/llama.cpp/CMakeLists.txt")]
    if not trees:
        raise ConfigError(f"{archive} holds no vendor/llama.cpp", hint="pass the llama-cpp-python source archive")
    return trees[0]

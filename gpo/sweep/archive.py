"""A run directory as bytes, and back: how runs travel between machines that share no disk.

A cluster backend sends a worker the run directory as the driver holds it (empty, or with
the checkpoint of an interrupted run) and gets it back, finished or further on, as one
gzipped tar. Unpacking replaces the driver's copy whole: the new tree is written beside the
old one and swapped in with two renames, so a killed driver leaves either the old copy or
the new one, never a mixture (a swap cut between its renames is completed on the next
unpack or :func:`recover_run`).
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Optional, Union

from gpo.errors import DataError

__all__ = ["pack_run", "recover_run", "unpack_run"]

_LAST = "summary.json"  # packed last: a tree cut short in transit never looks finished

PathLike = Union[str, Path]


def pack_run(run_dir: PathLike) -> bytes:
    """The files of ``run_dir`` as a gzipped tar (``b""`` when the folder does not exist).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> pack_run(d)
    b''
    >>> _ = d.mkdir(), (d / "config.json").write_text("{}")
    >>> len(pack_run(d)) > 0
    True
    """
    root = Path(run_dir)
    if not root.is_dir():
        return b""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == _LAST and p.parent == root)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in files:
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return buffer.getvalue()


def _aside(run_dir: Path, what: str) -> Path:
    return run_dir.with_name(f".{run_dir.name}.{what}")


def recover_run(run_dir: PathLike) -> None:
    """Finishes a swap that a kill cut between its two renames (the old copy comes back)."""
    run_dir = Path(run_dir)
    old = _aside(run_dir, "old")
    if old.exists():
        if run_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(run_dir)


def unpack_run(data: bytes, run_dir: PathLike) -> Optional[Path]:
    """Replaces ``run_dir`` with the tree packed in ``data`` (nothing happens for ``b""``).

    Returns:
        ``run_dir``, or ``None`` when ``data`` was empty.

    Raises:
        DataError: ``data`` is not a packed run, or names a file outside the folder.
    """
    if not data:
        return None
    run_dir = Path(run_dir)
    recover_run(run_dir)
    new = _aside(run_dir, "new")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            if hasattr(tarfile, "data_filter"):  # refuses absolute paths, "..", links out
                tar.extractall(new, filter="data")
            else:  # Python before 3.10.12 / 3.11.4: check the names ourselves
                for member in tar.getmembers():
                    if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in Path(member.name).parts:
                        raise tarfile.TarError(f"refusing {member.name!r}")
                tar.extractall(new)
    except (tarfile.TarError, OSError, EOFError) as exc:
        shutil.rmtree(new, ignore_errors=True)
        raise DataError(f"cannot unpack the run directory {run_dir.name}: {exc}") from exc
    old = _aside(run_dir, "old")
    if run_dir.exists():
        run_dir.rename(old)
    new.rename(run_dir)
    shutil.rmtree(old, ignore_errors=True)
    return run_dir

"""Writing files so that a crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_output(dest: Path, mode: str = "w", *, suffix: str = ".tmp") -> Iterator[IO]:
    """Opens a temporary file beside ``dest``; renames it over ``dest`` when the block succeeds.

    The data is flushed to disk before the rename; an exception inside the block leaves
    ``dest`` untouched and removes the temporary file.

    Args:
        dest: The file to write.
        mode: ``"w"`` (text, UTF-8) or ``"wb"``.
        suffix: Suffix of the temporary file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_output(p) as f:
        ...     _ = f.write("hello")
        >>> p.read_text()
        'hello'
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""Self-contained HTML reports of runs, and comparisons of several runs.

Needs the ``report`` extra (``pip install 'gpo[report]'``). Importing this package imports
none of the extra's packages; they are loaded when a report is written.

Example:
    >>> from gpo.report import write_report            # doctest: +SKIP
    >>> write_report("runs/20250101-120000-bbh_navigate-gpo")  # doctest: +SKIP
    PosixPath('runs/20250101-120000-bbh_navigate-gpo/report.html')
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional, Sequence, Union

from gpo.report.extra import INSTALL_HINT, missing_packages, require_extra

__all__ = ["write_report", "maybe_write_report", "write_compare", "missing_packages"]

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]


def write_report(run_dir: PathLike, out: Optional[PathLike] = None) -> Path:
    """Writes the HTML report of a run directory (finished or not).

    Args:
        run_dir: The run directory.
        out: The file to write (default: ``RUN_DIR/report.html``).

    Returns:
        The written file.

    Raises:
        ConfigError: The ``report`` extra is not installed.
        DataError: The folder holds no run.
    """
    require_extra()
    from gpo.report.page import write_report as _write

    return _write(run_dir, out)


def maybe_write_report(run_dir: PathLike) -> Optional[Path]:
    """Writes ``RUN_DIR/report.html`` if it can; for the end of ``gpo optimize``.

    The run is already saved when this is called, so nothing here raises: without the
    ``report`` extra it logs at info level, and a report that fails is logged as a warning.

    Returns:
        The report's path, or ``None`` when none was written.
    """
    missing = missing_packages()
    if missing:
        log.info("no HTML report: %s not installed (%s)", ", ".join(missing), INSTALL_HINT)
        return None
    try:
        return write_report(run_dir)
    except Exception as exc:  # the run succeeded; a report failure must not turn it into an error
        log.warning("could not write the HTML report of %s: %s (retry with `gpo report %s`)", run_dir, exc, run_dir)
        log.debug("report failure", exc_info=True)
        return None


def write_compare(run_dirs: Sequence[PathLike], out: PathLike) -> Path:
    """Writes an HTML page comparing runs (see :mod:`gpo.report.compare`).

    Args:
        run_dirs: Run directories, or folders holding run directories.
        out: The file to write.
    """
    require_extra()
    from gpo.report.compare import compare_runs, write_compare_page

    return write_compare_page(compare_runs(run_dirs), out)

"""Whether the optional ``report`` extra (Jinja2, matplotlib, SciPy, NumPy) is installed.

Kept apart from the rendering code so that checking imports none of those packages.
"""

from __future__ import annotations

import importlib.util

from gpo.errors import ConfigError

__all__ = ["REPORT_PACKAGES", "missing_packages", "require_extra"]

REPORT_PACKAGES = ("jinja2", "matplotlib", "scipy", "numpy")
"""Import names of the packages the report needs."""

INSTALL_HINT = "pip install 'gpo[report]'"


def missing_packages() -> list[str]:
    """The report's packages that cannot be imported (none when the extra is installed)."""
    return [name for name in REPORT_PACKAGES if importlib.util.find_spec(name) is None]


def require_extra() -> None:
    """Raises :class:`ConfigError` (with the install command) when a package is missing."""
    missing = missing_packages()
    if missing:
        raise ConfigError(f"the HTML report needs {', '.join(missing)}, which is not installed", hint=INSTALL_HINT)

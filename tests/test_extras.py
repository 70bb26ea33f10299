"""Every extra that the README and the code tell users to install exists, spelled as pip finds it."""

import re
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
# pip install 'gpo[a,b]', pip install gpo[a], pip install -e '.[a,b]'
INSTALL_EXTRAS = re.compile(r"""(?:\bgpo|['"\s]\.)\[([A-Za-z0-9_.,\- ]+)\]""")


def declared_extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def named_extras() -> dict[str, set[str]]:
    """Extra name -> the files that name it."""
    from gpo.lm.weights import LOCAL_MODELS

    found: dict[str, set[str]] = {}
    files = [ROOT / "README.md", *sorted((ROOT / "gpo").rglob("*.py"))]
    for path in files:
        for match in INSTALL_EXTRAS.finditer(path.read_text()):
            for name in match.group(1).split(","):
                if not name.strip().isupper():  # a placeholder such as gpo[EXTRA]
                    found.setdefault(name.strip(), set()).add(str(path.relative_to(ROOT)))
    for model in LOCAL_MODELS.values():
        if model.extra:
            found.setdefault(model.extra, set()).add(f"gpo.lm.weights:{model.name}")
    return found


def test_every_named_extra_is_declared_and_spelled_as_normalised():
    declared = {canonicalize_name(e): e for e in declared_extras()}
    named = named_extras()
    assert {"local", "local-1-5b", "litellm", "report", "embed", "dev"} <= set(named)
    for name, where in named.items():
        assert canonicalize_name(name) in declared, f"{name!r} ({sorted(where)}) is not an extra"
        # pip versions before PEP 685 compare extras literally with the normalised metadata.
        assert name == canonicalize_name(name), f"{name!r} ({sorted(where)}) is not normalised"
    for extra in declared.values():
        assert extra == canonicalize_name(extra), f"pyproject declares {extra!r}, not normalised"

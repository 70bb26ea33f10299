import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpo-splits"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own GPO_HOME so caches never leak between tests.

    Local model weights are shared through GPO_TEST_MODELS_HOME (assembled once per session).
    """
    home = tmp_path_factory.mktemp("gpo_home")
    monkeypatch.setenv("GPO_HOME", str(home))
    models = os.environ.get("GPO_TEST_MODELS_HOME")
    if models:
        (home / "models").symlink_to(Path(models) / "models", target_is_directory=True)
    monkeypatch.delenv("GPO_MODEL", raising=False)
    yield home


@pytest.fixture
def data_dir():
    path = Path(os.environ.get("GPO_DATA_DIR", SHARED_DATA))
    if not path.is_dir():
        pytest.skip(f"paper splits not found at {path}")
    return path

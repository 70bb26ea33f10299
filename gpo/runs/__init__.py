"""Run directories: configuration, state, trajectory, usage and results of one run."""

from gpo.runs.rundir import RunDir, default_run_dir

__all__ = ["RunDir", "default_run_dir"]

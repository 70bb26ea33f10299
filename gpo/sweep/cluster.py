"""Sweeps on a Ray cluster: each run is a Ray task; the driver keeps the sweep directory.

:class:`RayCluster` is an :class:`~gpo.sweep.executor.Executor`. It joins the cluster that
``ray.init(address)`` finds (or starts a local one), pins a
:class:`~gpo.sweep.coordinator.Coordinator` actor to the driver's node, and submits one task
per run with the resources it declares (``num_cpus``) and Ray's own retries of tasks whose
worker died (``max_retries``).

A task assumes no shared disk. It pulls the run directory from the driver (empty, or an
interrupted run's checkpoint), runs it in a temporary folder with
:func:`~gpo.sweep.worker.execute_run`, pushes each checkpoint back as it is written, and
returns the finished directory as bytes, which the driver unpacks in place. Its model calls
read and write the driver's response cache and ask the coordinator for request slots and
budget (:mod:`gpo.lm.shared`). A retried task starts from the last checkpoint pushed, and
so does a run interrupted by a killed driver when the sweep is run again. Checkpoints go
without waiting; once a task has ended the driver seals its run, so a checkpoint still on
its way never lands over the finished directory.

Ray is the ``ray`` extra: this module imports it only when a sweep runs.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from gpo.errors import ConfigError
from gpo.sweep.archive import pack_run, unpack_run
from gpo.sweep.coordinator import Coordinator, CoordinatorPolicy, SweepLimits
from gpo.sweep.executor import OnDone, OnStart
from gpo.sweep.plan import RunSpec
from gpo.sweep.worker import RunOutcome, execute_run, one_line_error, where

__all__ = ["INSTALL_HINT", "RayCluster", "require_ray"]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'gpo[ray]'"

_POLL_SECONDS = 0.1


def require_ray() -> None:
    """Raises :class:`ConfigError` with the install command when Ray is not installed."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("--backend ray needs Ray, which is not installed", hint=INSTALL_HINT)


# -- in a Ray worker ------------------------------------------------------------------------------


def _checkpoint_events() -> tuple[type, ...]:
    from gpo.runs.events import InitialScored, StepFinished

    return (InitialScored, StepFinished)


def run_task(spec: RunSpec, coordinator: Any, limits: dict[str, Any]) -> tuple[RunOutcome, bytes]:
    """One run on a worker: the body of the Ray task (see the module's description)."""
    import ray

    from gpo.lm.shared import use_policy

    host, pid = where()
    node = ray.get_runtime_context().get_node_id()
    attempt, stop = ray.get(coordinator.begin.remote(spec.name, host, pid, node, time.time()))
    if stop is not None:  # the sweep's budget is spent: the run does not begin
        now = time.time()
        return RunOutcome(spec.name, "stopped", None, stop, None, host, pid, now, now, node, attempt), b""
    checkpoints = _checkpoint_events()
    with tempfile.TemporaryDirectory(prefix="gpo-run-") as tmp:
        run_dir = Path(tmp) / spec.name
        unpack_run(ray.get(coordinator.pull.remote(spec.name)), run_dir)

        policy = CoordinatorPolicy(coordinator, SweepLimits.from_dict(limits))

        def on_event(event: Any) -> None:
            if isinstance(event, checkpoints):  # written just before the event; sent without waiting
                policy.flush()
                coordinator.push.remote(spec.name, pack_run(run_dir))

        with use_policy(policy):
            outcome = execute_run(dataclasses.replace(spec, run_dir=str(run_dir)), on_event)
        policy.flush()
        return dataclasses.replace(outcome, node=node, attempts=attempt), pack_run(run_dir)


# -- the driver ---------------------------------------------------------------------------------


class RayCluster:
    """Runs a sweep's runs as Ray tasks.

    Args:
        address: The cluster (``ray.init(address)``: ``auto``, ``HOST:PORT``, …); ``None``
            uses ``RAY_ADDRESS`` when set, else starts a local cluster for the sweep.
        retries: Times a run is restarted after its worker is lost (a node gone, a process
            killed); Ray's ``max_retries``.
        run_cpus: CPUs each run reserves (Ray's ``num_cpus``; fractions allowed).
        limits: The sweep's cap on requests per endpoint and its budget.
        cache_path: The driver's response cache that workers read and write (``None``:
            none, as in a dry run).
        local_cpus: CPUs of a local cluster started here (``None``: all).
    """

    def __init__(
        self,
        address: Optional[str] = None,
        *,
        retries: int = 2,
        run_cpus: float = 1.0,
        limits: SweepLimits = SweepLimits(),
        cache_path: Optional[str] = None,
        local_cpus: Optional[int] = None,
    ) -> None:
        if retries < 0:
            raise ConfigError(f"retries must be at least 0, got {retries}")
        if run_cpus <= 0:
            raise ConfigError(f"the CPUs of a run must be more than 0, got {run_cpus:g}")
        require_ray()
        self.address = address
        self.retries = retries
        self.run_cpus = run_cpus
        self.limits = limits
        self.cache_path = cache_path
        self.local_cpus = local_cpus
        self._started = False

    def connect(self) -> None:
        """Joins or starts the cluster (once; :meth:`run` does it if not done before).

        Raises:
            ConfigError: Ray cannot start or join the cluster.
        """
        import ray

        if ray.is_initialized():
            return
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        options: dict[str, Any] = {"logging_level": logging.WARNING, "configure_logging": True}
        if address is None:
            options.update(address="local", include_dashboard=False, num_cpus=self.local_cpus)
        else:
            options.update(address=address)
        main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGTERM) if main else None
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot join the Ray cluster at {address or 'a new local cluster'}: {one_line_error(exc)}",
                              hint="start one with `ray start --head`, or give its address with --address") from exc
        finally:
            if main and previous is not None:  # the sweep turns SIGTERM into a clean stop itself
                signal.signal(signal.SIGTERM, previous)
        self._started = True  # this process started (or joined) Ray, so it stops it after the sweep

    def run(self, specs: Sequence[RunSpec], on_start: OnStart, on_done: OnDone) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.connect()
        pending: list = []
        try:
            here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
            coordinator = (
                ray.remote(Coordinator)
                .options(num_cpus=0, scheduling_strategy=here)
                .remote({s.name: s.run_dir for s in specs}, self.cache_path, self.limits.to_dict())
            )
            task = ray.remote(run_task).options(num_cpus=self.run_cpus, max_retries=self.retries, retry_exceptions=False)
            refs = {task.remote(spec, coordinator, self.limits.to_dict()): spec for spec in specs}
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=_POLL_SECONDS)
                for event in ray.get(coordinator.events.remote()):
                    on_start(*event)
                for ref in done:
                    on_done(self._collect(ref, refs[ref], coordinator))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            if self._started:
                ray.shutdown()
                self._started = False

    @staticmethod
    def _collect(ref: Any, spec: RunSpec, coordinator: Any) -> RunOutcome:
        """The outcome of a task that ended, with its run directory unpacked on the driver."""
        import ray

        try:
            outcome, data = ray.get(ref)
        except ray.exceptions.RayError as exc:  # retries spent on lost workers, or a bug
            attempts = ray.get(coordinator.attempts.remote(spec.name))
            host, pid = where()
            now = time.time()
            error = f"the run's worker was lost {attempts} times; last: {one_line_error(exc)}"
            return RunOutcome(spec.name, "failed", None, error, None, host, pid, now, now, None, max(attempts, 1))
        ray.get(coordinator.seal.remote(spec.name))  # a checkpoint still on its way is dropped, not unpacked over this
        unpack_run(data, spec.run_dir)
        return outcome

"""The pieces of a cluster sweep that need no cluster: run directories as bytes, the
coordinator's slots, budget and checkpoints, and the worker side's batched cache calls."""

import asyncio
import concurrent.futures
import json

import pytest

from gpo.errors import ConfigError, DataError, SweepBudgetExceeded
from gpo.sweep.archive import pack_run, recover_run, unpack_run
from gpo.sweep.coordinator import Coordinator, CoordinatorPolicy, SweepLimits


def make_run(path, summary=True):
    (path / "results").mkdir(parents=True)
    (path / "config.json").write_text("{}")
    (path / "results" / "best_test.jsonl").write_text('{"x": 1}\n')
    if summary:
        (path / "summary.json").write_text(json.dumps({"stopped_reason": "completed"}))
    return path


def tree(path):
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_a_run_directory_travels_as_bytes_and_replaces_the_old_copy_whole(tmp_path):
    src = make_run(tmp_path / "src")
    data = pack_run(src)
    dest = make_run(tmp_path / "runs" / "r", summary=False)
    (dest / "stale.txt").write_text("old")
    assert unpack_run(data, dest) == dest
    assert tree(dest) == tree(src)  # the stale file is gone: the copy was swapped, not merged
    assert sorted(p.name for p in dest.parent.iterdir()) == ["r"]
    assert pack_run(tmp_path / "missing") == b"" and unpack_run(b"", dest) is None
    with pytest.raises(DataError, match="cannot unpack"):
        unpack_run(b"not a tar", dest)
    assert tree(dest) == tree(src)


def test_a_swap_cut_between_its_renames_is_completed(tmp_path):
    run = tmp_path / "runs" / "r"
    make_run(run.with_name(".r.old"))  # killed after the first rename
    recover_run(run)
    assert (run / "summary.json").exists() and not run.with_name(".r.old").exists()


def test_limits_are_checked_and_round_trip():
    limits = SweepLimits(endpoint_concurrency=4, calls=10, cost=1.5)
    assert SweepLimits.from_dict(limits.to_dict()) == limits and limits.limited
    assert not SweepLimits().limited
    with pytest.raises(ConfigError, match="at least 1"):
        SweepLimits(endpoint_concurrency=0)
    with pytest.raises(ConfigError, match="--sweep-max-cost"):
        SweepLimits(cost=float("nan"))


def test_slots_per_endpoint_and_the_budget(tmp_path):
    c = Coordinator({}, None, SweepLimits(endpoint_concurrency=2, calls=3).to_dict())
    assert c.try_acquire("a", "1") is True and c.try_acquire("a", "2") is True
    assert c.try_acquire("a", "3") is False and c.try_acquire("b", "4") is True  # endpoints apart
    c.release("a", "1", calls=1, tokens=10)
    c.release("a", "1")  # twice: ignored
    c.release("a", "never-granted")
    assert c.in_flight() == {"a": 1, "b": 1}
    assert c.try_acquire("a", "5") is True
    c.release("a", "2", calls=2, tokens=5, cost=0.5)
    assert c.spent() == {"calls": 3.0, "tokens": 15.0, "cost": 0.5}
    assert c.try_acquire("a", "6") == "sweep budget reached: 3 model requests (spent 3)"
    attempt, stop = c.begin("r", "host", 1, "node", 0.0)
    assert attempt == 1 and stop.startswith("sweep budget reached")
    assert c.begin("r", "host", 2, "node", 1.0)[0] == 2 and c.attempts("r") == 2
    assert [e[2] for e in c.events()] == [1, 2] and c.events() == []


def test_checkpoints_land_until_the_run_is_sealed_or_finished(tmp_path):
    run = tmp_path / "runs" / "r"
    c = Coordinator({"r": str(run)}, str(tmp_path / "cache.db"), {})
    assert c.pull("r") == b""
    checkpoint = make_run(tmp_path / "w1", summary=False)
    assert c.push("r", pack_run(checkpoint)) and tree(run) == tree(checkpoint)
    assert unpack_run(c.pull("r"), tmp_path / "copy") and tree(tmp_path / "copy") == tree(checkpoint)
    c.seal("r")
    assert not c.push("r", pack_run(make_run(tmp_path / "w2", summary=False)))
    c.put_many({"k": {"text": "hi"}})
    assert c.get_many(["k", "x"]) == {"k": {"text": "hi"}}


class Ref:
    """What a Ray actor call returns, for a handle without Ray."""

    def __init__(self, value):
        self.value = value

    def future(self):
        f = concurrent.futures.Future()
        f.set_result(self.value)
        return f

    def __await__(self):
        async def value():
            return self.value

        return value().__await__()


class Handle:
    """An actor handle whose calls run the coordinator in this process, and are counted."""

    def __init__(self, coordinator):
        self.calls = []
        self._coordinator = coordinator

    def __getattr__(self, name):
        method = getattr(self._coordinator, name)
        calls = self.calls

        class Remote:
            @staticmethod
            def remote(*args):
                calls.append(name)
                return Ref(method(*args))

        return Remote


def test_the_worker_side_batches_its_cache_calls(tmp_path):
    coordinator = Coordinator({}, str(tmp_path / "cache.db"), {})
    coordinator.put_many({f"k{i}": {"text": str(i)} for i in range(8)})
    handle = Handle(coordinator)
    policy = CoordinatorPolicy(handle, SweepLimits())

    async def lookups():
        return await asyncio.gather(*(policy.aget_many([f"k{i}", "missing"]) for i in range(8)))

    found = asyncio.run(lookups())
    assert found == [{f"k{i}": {"text": str(i)}} for i in range(8)] and handle.calls == ["get_many"]

    policy.put_many({"new": {"text": "n"}})
    assert handle.calls == ["get_many"] and asyncio.run(policy.aget_many(["new"])) == {"new": {"text": "n"}}
    policy.flush()
    policy.flush()
    assert handle.calls == ["get_many", "put_many"] and coordinator.get_many(["new"])
    assert asyncio.run(policy.acquire("e")) is None and handle.calls[-1] == "put_many"  # no limits: no call


def test_the_worker_side_waits_for_a_slot_and_stops_on_the_budget(tmp_path):
    coordinator = Coordinator({}, None, SweepLimits(endpoint_concurrency=1, calls=1).to_dict())
    policy = CoordinatorPolicy(Handle(coordinator), SweepLimits(endpoint_concurrency=1, calls=1))

    async def two_requests():
        first = await policy.acquire("e")
        waiting = asyncio.ensure_future(policy.acquire("e"))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the endpoint's one slot is taken
        policy.release("e", first, calls=1, tokens=3)
        return await waiting

    with pytest.raises(SweepBudgetExceeded, match="sweep budget reached: 1 model requests"):
        asyncio.run(two_requests())
    assert coordinator.in_flight() == {"e": 0}

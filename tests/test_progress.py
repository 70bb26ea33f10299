"""The progress display: a live panel on terminals, plain lines elsewhere, nothing when quiet."""

import io
import re

import pytest
from rich.console import Console

from gpo.lm.ledger import Ledger
from gpo.lm.types import Usage
from gpo.progress import PlainProgress, RunProgress, fmt_spend, make_progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingLedger(Ledger):
    """A ledger that counts how often its records are read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = 0

    @property
    def records(self):
        self.reads += 1
        return super().records


def terminal():
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=100), buf


def plain(buf) -> str:
    return ANSI.sub("", buf.getvalue())


def rendered(progress) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(progress.render())
    return console.file.getvalue()


def paid_ledger(cost=0.0125):
    return CountingLedger(
        [
            Usage("task", "openai:m", calls=1, samples=1, input_tokens=1200, output_tokens=300, cost_usd=cost),
            Usage("task", "openai:m", calls=1, samples=1, input_tokens=800, output_tokens=200, cost_usd=cost),
            Usage("task", "openai:m", calls=0, samples=1, cached_samples=1),
            Usage("optimizer", "openai:m", calls=1, samples=8, input_tokens=500, output_tokens=400, cost_usd=cost),
        ]
    )


def events(ledger, total=3, k=4):
    """A synthetic run of ``total`` steps with ``k`` candidates each."""
    yield {"type": "start", "total": total, "n_eval": 10, "resumed_from": None, "ledger": ledger,
           "task": "synthetic/word_sorting", "method": "gpo", "num_candidates": k}
    yield {"type": "initial", "prompt": "Let's think step by step.", "eval": 0.4}
    best = 0.4
    for t in range(1, total + 1):
        scores = [round(0.4 + 0.1 * t + 0.01 * i, 3) for i in range(k)]
        for i, s in enumerate(scores):
            yield {"type": "candidate", "step": t, "prompt": f"p{t}.{i}", "eval": s}
        best = max(best, *scores)
        yield {"type": "step", "step": t, "total": total, "budget": 20 - t,
               "candidates": [(f"p{t}.{i}", s, None, False) for i, s in enumerate(scores)]
               + [("", None, "empty", False), (f"p{t}.0", scores[0], None, True)],
               "chosen": f"p{t}.{k - 1}", "score": scores[-1], "best": best}


def final(ledger, steps=3, best=0.73):
    return {"type": "final", "summary": {
        "steps_completed": steps, "total_steps": steps, "stopped_reason": "completed",
        "best_step": steps, "scores": {"initial": {"eval": 0.4, "test": 0.4}, "best": {"eval": best, "test": 0.7}},
        "usage": ledger.summary(), "seconds": 12.3}}


# ----------------------------------------------------------------------------- live panel


def test_live_panel_shows_steps_scores_calls_and_spend():
    console, buf = terminal()
    ledger = paid_ledger()
    clock = Clock()
    progress = RunProgress(console=console, auto_refresh=False, clock=clock)
    it = events(ledger, total=3, k=4)
    for _ in range(2 + 4 + 1 + 2):  # start, initial, step 1 and two candidates of step 2
        clock.now += 1
        progress(next(it))

    mid = rendered(progress)
    assert "synthetic/word_sorting" in mid and "gpo" in mid
    assert "1/3" in mid and "33%" in mid
    assert "step 2: 2/4 candidates scored" in mid
    assert "best 0.610" in mid  # the best candidate of step 2 so far
    assert "current 0.530" in mid and "initial 0.400" in mid
    assert "task 2 paid + 1 cached" in mid and "optimizer 1 paid + 0 cached" in mid
    assert "$0.0375" in mid
    assert "2.5k in / 900 out" in mid
    assert "elapsed 0:08" in mid and "about 0:14 left" in mid  # 7 s a step, 2 steps to go

    for ev in it:
        progress(ev)
    progress(final(ledger))
    out = plain(buf)
    assert "3/3" in out and "100%" in out and "done: completed" in out
    assert "best 0.730" in out and "$0.0375" in out and "task 2 paid + 1 cached" in out
    assert "\x1b[?25h" in buf.getvalue()  # the cursor is shown again
    assert progress._live is None


def test_spend_free_and_unknown():
    assert fmt_spend(0.0) == "free" and fmt_spend(None) == "unknown" and fmt_spend(2.5) == "$2.50"
    for ledger, word in (
        (Ledger([Usage("task", "local:x", calls=3, samples=3, input_tokens=90, output_tokens=30)]), "free"),
        (Ledger([Usage("task", "openai:x", calls=1, samples=1, cost_usd=None),
                 Usage("optimizer", "openai:x", calls=1, samples=1, cost_usd=0.5)]), "unknown"),
    ):
        progress = RunProgress(console=terminal()[0], auto_refresh=False)
        progress(next(events(ledger)))
        assert f"spend  {word}" in rendered(progress)
        progress.close()


def test_ledger_is_read_at_most_once_per_interval():
    console, _ = terminal()
    ledger = paid_ledger()
    clock = Clock()
    progress = RunProgress(console=console, auto_refresh=False, ledger_interval=0.5, clock=clock)
    for ev in events(ledger, total=50, k=8):  # ~450 events at the same instant
        progress(ev)
        progress.render()
    assert ledger.reads == 1
    ledger.add(Usage("task", "openai:m", calls=1, samples=1, input_tokens=10, cost_usd=None))
    ledger.add(Usage("embedding", "openai:e", calls=1, samples=4, input_tokens=40, cost_usd=0.001))
    assert "task 2 paid" in rendered(progress)  # not read again yet
    clock.now += 0.6
    text = rendered(progress)
    progress.render()
    assert ledger.reads == 2
    assert progress.usage() == ledger.summary()  # only the new records were summed, to the same totals
    assert "task 3 paid + 1 cached" in text and "embedding 1 paid" in text and "spend  unknown" in text
    progress.close()


def test_redraws_on_events_are_throttled():
    console, buf = terminal()
    clock = Clock()
    progress = RunProgress(console=console, auto_refresh=False, refresh_per_second=4, clock=clock)
    for ev in events(Ledger(), total=20, k=4):
        progress(ev)
    size = len(buf.getvalue())
    frames = buf.getvalue().count("╭")
    assert frames == 1  # the first frame only: the clock did not move
    clock.now += 1
    progress({"type": "candidate", "step": 21, "prompt": "x", "eval": 0.1})
    assert buf.getvalue().count("╭") == 2 and len(buf.getvalue()) > size
    progress.close()


def test_resumed_run_starts_from_its_step():
    progress = RunProgress(console=terminal()[0], auto_refresh=False)
    progress({"type": "start", "total": 10, "n_eval": 5, "resumed_from": 4, "ledger": Ledger(),
              "task": "t", "method": "ape", "num_candidates": 2})
    text = rendered(progress)
    assert "4/10" in text and "resumed after step 4" in text and "step 5" in text
    progress.close()


def test_close_is_idempotent_and_stops_the_display():
    console, buf = terminal()
    progress = RunProgress(console=console, auto_refresh=True, refresh_per_second=20)
    progress.close()  # before any event: nothing to stop
    it = events(Ledger())
    progress(next(it))
    progress(next(it))
    assert progress._live is not None and progress._live.is_started
    live = progress._live
    progress.close()
    progress.close()
    assert progress._live is None and not live.is_started
    assert "stopped" in plain(buf)
    written = buf.getvalue()
    progress(next(it))  # a stopped display ignores the rest of the run
    assert buf.getvalue() == written and progress._live is None


def test_context_manager_closes_on_error():
    console, _ = terminal()
    with pytest.raises(KeyboardInterrupt):
        with RunProgress(console=console, auto_refresh=False) as progress:
            progress(next(events(Ledger())))
            raise KeyboardInterrupt
    assert progress._live is None


# ----------------------------------------------------------------------------- plain lines and modes


def test_plain_prints_one_line_per_step():
    buf = io.StringIO()
    progress = PlainProgress(file=buf)
    ledger = paid_ledger()
    for ev in events(ledger, total=3, k=4):
        progress(ev)
    progress(final(ledger))
    lines = buf.getvalue().splitlines()
    assert lines[0] == "optimizing: 3 steps, 10 eval examples"
    assert lines[1] == "step 0: initial prompt eval 0.400"
    assert lines[2] == (
        "step 1/3: budget 19 words; 6 candidates (best 0.530, 1 repeats), 1 rejected (1 empty); "
        "next prompt 0.530; best so far 0.530"
    )
    assert [line.split(":")[0] for line in lines[2:5]] == ["step 1/3", "step 2/3", "step 3/3"]
    assert lines[5].startswith("done: 3/3 steps (completed); best eval 0.730 at step 3; spend $0.0375")
    assert len(lines) == 6  # candidate events print nothing


def test_make_progress_modes(monkeypatch):
    assert make_progress("quiet") is None
    assert isinstance(make_progress("plain"), PlainProgress)
    assert isinstance(make_progress("live", console=terminal()[0]), RunProgress)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(make_progress("auto"), PlainProgress)
    monkeypatch.setattr("sys.stderr", Tty())
    assert isinstance(make_progress("auto"), RunProgress)
    with pytest.raises(ValueError, match="unknown progress mode"):
        make_progress("loud")


# ----------------------------------------------------------------------------- end to end


def test_dry_run_drives_the_live_panel(tmp_path):
    from gpo.api import optimize

    console, buf = terminal()
    seen = []
    progress = RunProgress(console=console, refresh_per_second=20)

    def on_event(event):
        seen.append(event["type"])
        progress(event)

    try:
        result = optimize("synthetic/word_sorting", "gpo", dry_run=True, steps=3, num_candidates=3,
                          eval_limit=5, test_limit=5, run_dir=tmp_path / "run", on_event=on_event)
    finally:
        progress.close()
    assert seen[0] == "start" and seen[-1] == "final" and seen.count("step") == 3
    out = plain(buf)
    s = result.summary
    assert "3/3" in out and "done: completed" in out
    assert f"best {s['scores']['best']['eval']:.3f}" in out
    assert f"task {s['usage']['task']['requests']} paid" in out
    assert "synthetic/word_sorting" in out and "dry run: an estimate" in out


def test_cli_without_a_terminal_prints_plain_lines(capsys, tmp_path):
    from gpo.cli import main

    main(["optimize", "-t", "synthetic/word_sorting", "--dry-run", "--steps", "2", "--candidates", "2",
          "--eval-limit", "4", "--test-limit", "4", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(("optimizing:", "step ", "done:"))]
    assert [line.split(":")[0] for line in lines] == ["optimizing", "step 0", "step 1/2", "step 2/2", "done"]
    assert lines[-1].startswith("done: 2/2 steps (completed)") and "(dry run estimate)" in lines[-1]
    assert "\x1b[" not in err


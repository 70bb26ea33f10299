"""What a new user reads in the first hour: quiet results, the task as an argument, why
candidates were rejected, evaluate's protocol, and the sections of optimize's help."""

import io
import json
import re

import pytest
from test_cli import run
from test_progress import Clock, rendered, terminal

from gpo.progress import PlainProgress, RunProgress

TASK = "synthetic/boolean_expressions"


# ---------------------------------------------------------------------------- -q


def test_quiet_prints_only_the_best_prompt_and_its_scores(capsys, tmp_path):
    code, out, err = run(capsys, "optimize", TASK, "-m", "fake:", "--run-dir", str(tmp_path / "run"), "-q")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    best = summary["scores"]["best"]
    assert out.splitlines() == [
        f"best prompt (step {summary['best_step']}): {summary['best_prompt']!r}",
        f"  eval {best['eval']:.3f}   test {best['test']:.3f}",
    ]
    assert err == ""  # no progress either
    code, again, _ = run(capsys, "resume", str(tmp_path / "run"), "-q")
    assert code == 0 and again == out


# ---------------------------------------------------------------------------- the task as an argument


@pytest.mark.parametrize("command", [["optimize", "--steps", "0", "-q"], ["evaluate", "--limit", "3"]])
def test_the_task_may_be_the_first_argument(capsys, command):
    code, by_argument, err = run(capsys, command[0], TASK, *command[1:], "-m", "fake:")
    assert code == 0, err
    code, by_option, err = run(capsys, command[0], "--task", TASK, *command[1:], "-m", "fake:")
    assert code == 0, err
    assert by_argument == by_option
    code, same, err = run(capsys, command[0], TASK, "-t", TASK, *command[1:], "-m", "fake:")
    assert code == 0 and same == by_option, err


@pytest.mark.parametrize("command", ["optimize", "evaluate"])
def test_no_task_or_two_tasks_is_one_clear_line(capsys, command):
    code, _, err = run(capsys, command, "-m", "fake:")
    assert code == 2 and err.splitlines() == [
        "gpo: error: no task given: write it as the first argument or with --task (`gpo tasks` lists them) "
        f"(see `gpo {command} --help`)"
    ]
    code, _, err = run(capsys, command, TASK, "--task", "synthetic/word_sorting", "-m", "fake:")
    assert code == 2 and err.splitlines() == [
        f"gpo: error: two tasks given, '{TASK}' and --task 'synthetic/word_sorting': give one "
        f"(see `gpo {command} --help`)"
    ]


# ---------------------------------------------------------------------------- why candidates were rejected


def step_event(reasons):
    return {"type": "step", "step": 2, "total": 4, "budget": 10, "chosen": "p", "score": 0.5, "best": 0.6,
            "candidates": [(f"p{i}", None if r else 0.5, r, False) for i, r in enumerate(reasons)]}


def test_step_lines_say_why_candidates_were_rejected():
    reasons = ["over edit budget (14 > 10 words)", None, "no prompt found", "over edit budget (11 > 10 words)", None]
    line = PlainProgress.line(step_event(reasons))
    assert line == (
        "step 2/4: budget 10 words; 5 candidates (best 0.500, 0 repeats), "
        "3 rejected (2 over edit budget, 1 no prompt found); next prompt 0.500; best so far 0.600"
    )
    assert "0 repeats), 0 rejected; next" in PlainProgress.line(step_event([None, None]))


def test_step_lines_leave_raced_out_partial_scores_out_of_the_best():
    event = step_event([None, None])
    event["candidates"] = [("p0", 0.5, None, False, None), ("p1", 1.0, None, False, 4)]  # 4 of 4: partial
    line = PlainProgress.line(event)
    assert "2 candidates (best 0.500, 0 repeats, 1 raced out), 0 rejected" in line


def test_the_live_panel_shows_the_last_steps_rejections():
    console, _ = terminal()
    progress = RunProgress(console=console, auto_refresh=False, clock=Clock())
    progress({"type": "start", "total": 4, "n_eval": 10, "resumed_from": None, "task": TASK, "method": "gpo",
              "num_candidates": 3, "ledger": None})
    progress({"type": "initial", "prompt": "p0", "eval": 0.4})
    assert "last" not in rendered(progress)
    progress(step_event(["copies a demonstration", "echoes the meta-prompt", "copies a demonstration"]))
    text = rendered(progress)
    assert re.search(r"last +step 2: 3 candidates, 3 rejected \(2 copies a demonstration, 1 echoes the meta-prompt\)", text)
    progress.close()


def test_a_run_prints_the_reasons_of_its_rejections(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("gpo.progress._stderr_is_terminal", lambda: False)
    code, _, err = run(capsys, "optimize", TASK, "-m", "fake:", "--run-dir", str(tmp_path / "run"),
                       "--reject-over-budget", "--no-clip-over-budget", "--lr-init", "0", "--lr-end", "0",
                       "--max-resample-rounds", "0")
    assert code == 0, err
    rows = [json.loads(line) for line in (tmp_path / "run" / "trajectory.jsonl").read_text().splitlines()]
    rejected = [r["rejected"] for r in rows if r["step"] == 1 and r["rejected"]]
    assert rejected  # a zero edit budget rejects every changed candidate
    step_line = next(line for line in err.splitlines() if line.startswith("step 1/2:"))
    assert f"{len(rejected)} rejected ({len(rejected)} over edit budget)" in step_line


# ---------------------------------------------------------------------------- evaluate's protocol


def test_evaluate_answers_as_a_quick_run_does_and_scores_alike(capsys, tmp_path):
    code, _, err = run(capsys, "optimize", TASK, "-m", "fake:", "--steps", "0", "--run-dir", str(tmp_path / "run"), "-q")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    code, out, err = run(capsys, "evaluate", TASK, "-m", "fake:", "--limit", str(summary["n_eval"]), "--json")
    assert code == 0, err
    quick = json.loads(out)
    assert (quick["protocol"], quick["two_round"], quick["answer_tokens"]) == ("quick", False, 48)
    assert quick["score"] == summary["scores"]["initial"]["eval"]
    assert quick["usage"]["requests"] == summary["n_eval"]  # one round


@pytest.mark.parametrize("args,expected", [
    (["--protocol", "paper"], ("paper", True, 256, 10)),
    (["--protocol", "paper", "--one-round"], ("paper", False, 256, 5)),
    (["--two-round", "--answer-tokens", "64"], ("quick", True, 64, 10)),
])
def test_explicit_flags_win_over_evaluates_protocol(capsys, args, expected):
    code, out, err = run(capsys, "evaluate", TASK, "-m", "fake:", "--limit", "5", "--json", *args)
    assert code == 0, err
    payload = json.loads(out)
    assert (payload["protocol"], payload["two_round"], payload["answer_tokens"], payload["usage"]["requests"]) == expected


# ---------------------------------------------------------------------------- optimize --help


def test_optimize_help_lists_its_options_in_sections(capsys):
    code, out, _ = run(capsys, "optimize", "--help")
    assert code == 0
    assert out.startswith("Usage: gpo optimize [OPTIONS] [TASK]")
    titles = [line[:-1] for line in out.splitlines() if re.fullmatch(r"[A-Z][\w ]*:", line)]
    assert titles == ["Task", "Models", "Method and its parts", "Protocol", "Budget", "Output"]
    sections = dict(zip(titles, re.split(r"\n(?:" + "|".join(titles) + r"):\n", "\n" + out)[1:]))
    for title, flags in {
        "Task": ["--task", "--data-dir", "--placement", "--initial-prompt"],
        "Models": ["--model", "--optimizer-model", "--embedder", "--timeout", "--concurrency", "--no-cache"],
        "Method and its parts": ["--method", "--trajectory", "--schedule", "--selection"],
        "Protocol": ["--protocol", "--steps", "--candidates", "--eval-limit", "--two-round", "--tie-break"],
        "Budget": ["--max-calls", "--max-cost", "--budget", "--max-steps-without-improvement", "--dry-run"],
        "Output": ["--run-dir", "--json", "--quiet", "--help"],
    }.items():
        for flag in flags:
            assert re.search(rf"^\s+(-\w, )?{flag}\b", sections[title], re.M), (title, flag)
    listed = re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", out, re.M)
    assert len(listed) == len(set(listed)) > 45  # every option once, none left out of a section


# ---------------------------------------------------------------------------- answer formats of your own data


def test_tasks_lists_every_answer_format_for_your_own_data(capsys):
    from gpo.scoring import ANSWER_FORMATS

    code, out, _ = run(capsys, "tasks")
    assert code == 0
    lines = out.splitlines()
    start = lines.index("Answer formats (format=NAME; default exact):")
    listed: dict[str, str] = {}
    for line in lines[start + 1:]:  # a long description goes on below its format, indented
        if line.startswith("   ") and listed:
            last = list(listed)[-1]
            listed[last] += " " + line.strip()
        else:
            listed[line.split()[0]] = line.split(None, 1)[1]
    assert listed == {name: f.description for name, f in ANSWER_FORMATS.items()}


def test_every_task_fits_80_columns_grouped_by_family(capsys, monkeypatch, data_dir):
    """`gpo tasks --all` printed 835 lines with a description column five characters wide."""
    from gpo.tasks import list_tasks

    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "tasks", "--data-dir", str(data_dir), "--all")
    assert code == 0
    lines = out.splitlines()
    assert max(map(len, lines)) <= 80, max(lines, key=len)
    tasks = list_tasks(data_dir)
    assert len(lines) < len(tasks) + 40
    # Each family under its own header; a task's line starts with its name and answer format.
    assert "bbh  BIG-Bench Hard · 27 tasks" in lines
    assert "  bbh/navigate                  yes_no           decide whether a walk ends whe…" in lines
    assert "  bbh/tracking_shuffled_objects_seven_objects  multiple_choice" in lines  # a long name: its
    assert "      track seven objects through pairwise swaps" in lines  # description below it
    assert "mmlu/SUBJECT  MMLU · 57 tasks · multiple_choice: four-option multiple choice" in lines
    text = " ".join(out.split())
    for info in tasks:
        family, _, name = info.name.rpartition("/")
        assert (name if family == "mmlu" else info.name) in text, info.name  # whole names, but MMLU's subjects
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal shows whole descriptions
    out = run(capsys, "tasks", "--data-dir", str(data_dir), "--all")[1]
    assert "decide whether a walk ends where it started" in out and "…" not in out.split("mmlu/")[0]


def test_a_run_records_the_answer_format_it_scored_with(capsys, tmp_path):
    data = tmp_path / "sums.jsonl"
    data.write_text("".join(json.dumps({"question": f"{i} + {i}", "answer": str(2 * i)}) + "\n" for i in range(40)))
    run_dir = tmp_path / "run"
    code, out, err = run(capsys, "optimize", f"jsonl:{data}?input=question&target=answer&format=number",
                         "-m", "fake:", "--steps", "1", "--run-dir", str(run_dir), "--json")
    assert code == 0, err
    assert json.loads((run_dir / "config.json").read_text())["answer_format"] == "number"
    assert json.loads((run_dir / "summary.json").read_text())["answer_format"] == "number"
    assert json.loads(out)["answer_format"] == "number"


# ---------------------------------------------------------------------------- is the gain chance?


def test_the_run_says_whether_its_test_gain_may_be_chance(capsys, tmp_path):
    pytest.importorskip("scipy")
    code, out, err = run(capsys, "optimize", TASK, "-m", "fake:", "--steps", "2", "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    test = json.loads((tmp_path / "run" / "summary.json").read_text())["paired_test"]
    assert test["n"] > 0 and test["test"] == "mcnemar"
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("best prompt (step"))
    said = lines[at + 2]
    assert said.startswith(f"test gain {test['difference'] * 100:+.1f} points: {test['fixed']} of {test['n']} test examples fixed")
    assert f"p = {test['pvalue']:.3g}" in said
    why = lines[at + 3]
    assert why.startswith(f"  why: if both prompts were equally good, {test['fixed']} fixed against {test['broken']} broken")
    assert why.endswith(f"probability {test['pvalue']:.3g}")
    example = test["example"]
    if example is not None:  # the first test example whose score changed, as the run recorded it
        assert lines[at + 4].startswith(("  for example, input ", "  for example (broken), input "))
        assert f"now {example['after']!r} (expected {example['expected']!r})" in lines[at + 4]
        initial = [json.loads(x) for x in (tmp_path / "run" / "results" / "initial_test.jsonl").read_text().splitlines()]
        assert any(r["output"].startswith(example["before"].rstrip(" …")) for r in initial)

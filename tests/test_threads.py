"""Threads of the local model server: the environment setting, the load-aware default, the CLI flag."""

from __future__ import annotations

import os

import pytest

from gpo.errors import ConfigError
from gpo.lm import llama_server
from gpo.lm.llama_server import LlamaServer, default_threads, idle_cores, threads_from_environment


def test_gpo_threads_is_read_and_checked(monkeypatch):
    monkeypatch.delenv("GPO_THREADS", raising=False)
    assert threads_from_environment() is None
    monkeypatch.setenv("GPO_THREADS", "3")
    assert threads_from_environment() == 3
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv("GPO_THREADS", bad)
        with pytest.raises(ConfigError, match="GPO_THREADS"):
            threads_from_environment()


def test_the_default_takes_the_idle_cores(monkeypatch):
    cores = os.cpu_count() or 2
    assert 1 <= default_threads() <= cores
    measured = idle_cores(0.05)
    assert measured is None or 0 <= measured <= cores + 0.01
    monkeypatch.setattr(llama_server, "idle_cores", lambda window=0.3: 0.9)  # another process holds the rest
    assert default_threads() == 1
    monkeypatch.setattr(llama_server, "idle_cores", lambda window=0.3: float(cores))
    assert default_threads() == cores
    monkeypatch.setattr(llama_server, "idle_cores", lambda window=0.3: None)  # cannot measure: half
    assert default_threads() == max(1, cores // 2)


def test_a_server_takes_the_asked_then_the_environment_then_the_default(monkeypatch, tmp_path):
    monkeypatch.setattr(llama_server, "available_runtime", lambda: "xllamacpp")
    monkeypatch.setattr(llama_server, "default_threads", lambda: 7)
    monkeypatch.delenv("GPO_THREADS", raising=False)
    assert LlamaServer(tmp_path / "m.gguf").threads == 7
    monkeypatch.setenv("GPO_THREADS", "2")
    assert LlamaServer(tmp_path / "m.gguf").threads == 2
    assert LlamaServer(tmp_path / "m.gguf", threads=1).threads == 1
    assert "--threads" in LlamaServer(tmp_path / "m.gguf", threads=1)._command(8080)


def test_the_cli_flag_sets_the_threads_of_the_servers_it_starts(monkeypatch):
    from click.testing import CliRunner

    from gpo.cli import cli

    monkeypatch.setenv("GPO_THREADS", "4")  # restored after the test
    result = CliRunner().invoke(cli, ["evaluate", "-t", "synthetic/navigate", "-m", "fake:", "--limit", "2", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert os.environ.get("GPO_THREADS") == "1"
    help_text = CliRunner().invoke(cli, ["optimize", "--help"]).output
    assert "--threads" in help_text and "Other options" not in help_text  # listed with the model options

"""The ``gpo`` command.

Every command turns the library's typed errors into one line on stderr that says what is
wrong and what to do, and exits with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from typing import Optional

import click

from gpo.errors import GPOError, RunInterrupted

EXAMPLES = """\b
Examples:
  gpo optimize synthetic/first_letter --initial-prompt "Which letter does this word start with?" --optimizer-model local:qwen2.5-coder-1.5b
  gpo optimize --task bbh/navigate --data-dir DATA --method gpo --protocol paper -m openai:gpt-4o-mini
  gpo optimize --task bbh/navigate --data-dir DATA --trajectory recency --schedule linear --dry-run
  gpo tasks --data-dir ../shared/data/gpo-splits
  gpo evaluate -t ii/first_word_letter --data-dir ../shared/data --prompt "Give the first letter."
  gpo models
  gpo evaluate --task synthetic/boolean_expressions --prompt "Let's think step by step." --limit 20
  gpo evaluate --task bbh/navigate --data-dir DATA -m openai:gpt-4o-mini --split test --json
"""


class _State:
    debug = False


def _err(message: str) -> None:
    click.echo(f"gpo: error: {message}", err=True)


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="gpo")
def cli(debug: bool) -> None:
    """Optimize the instructions of LLM tasks with GPO and its baselines."""
    _State.debug = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register_commands() -> None:
    from gpo.commands.evaluate import evaluate
    from gpo.commands.info import models, tasks
    from gpo.commands.run import optimize, replay, resume
    from gpo.report.commands import compare_command, report_command
    from gpo.sweep.command import sweep_command

    for command in (tasks, models, evaluate, optimize, resume, replay, report_command, compare_command, sweep_command):
        cli.add_command(command)


_register_commands()


# ---------------------------------------------------------------------------- entry point


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: runs the CLI and maps errors to one line and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="gpo", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("gpo: interrupted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if debug:
            raise
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _err(exc.format_message().replace("\n", " ") + where)
        sys.exit(2)
    except RunInterrupted as exc:
        click.echo(f"gpo: {exc.message}; progress is saved" + (f" ({exc.hint})" if exc.hint else ""), err=True)
        sys.exit(130)
    except GPOError as exc:
        if debug:
            raise
        _err(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("gpo: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line unless --debug
        if debug:
            raise
        _err(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
        sys.exit(1)


if __name__ == "__main__":
    main()

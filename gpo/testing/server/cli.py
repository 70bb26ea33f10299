"""``python -m gpo.testing.server``: serve the test API from a shell until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from gpo.testing.faults import parse_faults
from gpo.testing.server.openai_compat import OpenAICompatServer


def main(argv: Sequence[str] | None = None) -> int:
    """Serves from the command line until interrupted.

    Args:
        argv: Command-line arguments, without the program name. Defaults to
            ``sys.argv[1:]``.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m gpo.testing.server",
        description="Serve a deterministic OpenAI-compatible API for tests and benchmarks.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        help="seconds before each answer (default: %(default)s)",
    )
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument(
        "--model-name", default="gpo-test-model", help="model id to report (default: %(default)s)"
    )
    parser.add_argument(
        "--statuses",
        default="",
        help="comma-separated faults for the first requests, e.g. 429,500,hang,truncate,html,drop",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of the later requests that get a fault from --faults (default: %(default)s)",
    )
    parser.add_argument(
        "--faults", default="429,500,hang,truncate", help="faults drawn (default: %(default)s)"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draw")
    parser.add_argument(
        "--hang", type=float, default=3600.0, help="seconds a hang lasts (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        server = OpenAICompatServer(
            host=args.host,
            port=args.port,
            delay=args.delay,
            statuses=parse_faults(args.statuses),
            api_key=args.api_key,
            model_name=args.model_name,
            fault_rate=args.fault_rate,
            faults=parse_faults(args.faults),
            fault_seed=args.fault_seed,
            hang_s=args.hang,
        )
        server.start()
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        done.set()

    # Explicit handlers, so Ctrl-C works even when SIGINT was inherited as
    # ignored (e.g. started in the background), and SIGTERM stops cleanly.
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(server.url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

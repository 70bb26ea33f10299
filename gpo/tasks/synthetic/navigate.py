"""Navigate: a walk of steps and turns, and whether it ends where it started."""

from __future__ import annotations

import random

_FACING_FORWARD = {"forward": (0, 1), "backward": (0, -1), "left": (-1, 0), "right": (1, 0)}
_HEADINGS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # north, east, south, west; turning right adds 1
_TURNS = {"right": 1, "around": 2, "left": 3}

Move = tuple[str, ...]
"""("step", n, direction) with a fixed facing, ("take", n) along the heading, or ("turn", side)."""


def _steps(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def move_text(move: Move) -> str:
    """One instruction as a sentence, e.g. ``Take 3 steps left.``."""
    if move[0] == "step":
        return f"Take {_steps(int(move[1]))} {move[2]}."
    if move[0] == "take":
        return f"Take {_steps(int(move[1]))}."
    return "Turn around." if move[1] == "around" else f"Turn {move[1]}."


def walk(moves: list[Move]) -> tuple[int, int, int]:
    """Follows the instructions from (0, 0) facing north: final x, y and heading."""
    x = y = heading = 0
    for move in moves:
        if move[0] == "turn":
            heading = (heading + _TURNS[move[1]]) % 4
            continue
        dx, dy = _FACING_FORWARD[move[2]] if move[0] == "step" else _HEADINGS[heading]
        x += dx * int(move[1])
        y += dy * int(move[1])
    return x, y, heading


def _chunks(total: int) -> list[int]:
    out = []
    while total > 0:
        out.append(min(total, 10))
        total -= out[-1]
    return out


def _facing_forward_walk(rng: random.Random, home: bool) -> list[Move]:
    moves: list[Move] = [
        ("step", rng.randrange(1, 11), rng.choice(tuple(_FACING_FORWARD))) for _ in range(rng.randrange(1, 5))
    ]
    if home:
        x, y, _ = walk(moves)
        moves += [("step", n, "left" if x > 0 else "right") for n in _chunks(abs(x))]
        moves += [("step", n, "backward" if y > 0 else "forward") for n in _chunks(abs(y))]
        rng.shuffle(moves)
    else:
        moves += [("step", rng.randrange(1, 11), rng.choice(tuple(_FACING_FORWARD))) for _ in range(rng.randrange(1, 4))]
    return moves


def _turning_walk(rng: random.Random, home: bool) -> list[Move]:
    moves: list[Move] = []
    for _ in range(rng.randrange(2, 6)):
        if rng.random() < 0.6:
            moves.append(("take", rng.randrange(1, 11)))
        else:
            moves.append(("turn", rng.choice(tuple(_TURNS))))
    if home:
        x, y, heading = walk(moves)
        for distance, facing in ((x, 3 if x > 0 else 1), (y, 2 if y > 0 else 0)):
            if distance == 0:
                continue
            turn = (facing - heading) % 4
            if turn:
                moves.append(("turn", {1: "right", 2: "around", 3: "left"}[turn]))
                heading = facing
            moves += [("take", n) for n in _chunks(abs(distance))]
        if rng.random() < 0.3:
            moves.append(("turn", rng.choice(tuple(_TURNS))))
    return moves


def make_navigate(rng: random.Random) -> tuple[str, str]:
    """One walk (facing forward throughout, or with turns) and whether it ends at the start."""
    home = rng.random() < 0.5
    forward = rng.random() < 0.5
    while True:
        moves = _facing_forward_walk(rng, home) if forward else _turning_walk(rng, home)
        x, y, _ = walk(moves)
        back = (x, y) == (0, 0)
        if back == home and 2 <= len(moves) <= 10 and any(m[0] != "turn" for m in moves):
            break
    lead = "Always face forward. " if forward else ""
    text = " ".join(move_text(m) for m in moves)
    question = (
        "If you follow these instructions, do you return to the starting point? "
        f"{lead}{text}\nOptions:\n- Yes\n- No"
    )
    return question, "Yes" if back else "No"

"""Progress lines on stderr for long commands (`edam phases`, `edam report STORE`, `edam runs`).

Shown only when stderr is a terminal: a pipe, a file or a test capture gets nothing, so the
commands' output stays clean for scripts. Each step is one line, with the seconds since start:

    edam runs:    0.0 s  catalogue: views over the results of 40 runs
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def stderr_is_terminal(stream: TextIO | None = None) -> bool:
    """True when `stream` (default: stderr) is attached to a terminal."""
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def step_printer(command: str, stream: TextIO | None = None,
                 enabled: bool | None = None) -> Callable[[str], None]:
    """A `progress(message)` callable printing `command: <seconds> s  <message>` lines on
    `stream` (default stderr); a no-op unless `enabled` (default: the stream is a terminal)."""
    stream = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = stderr_is_terminal(stream)
    if not enabled:
        return lambda message: None
    t0 = time.perf_counter()

    def progress(message: str) -> None:
        print(f"{command}: {time.perf_counter() - t0:6.1f} s  {message}", file=stream,
              flush=True)

    return progress

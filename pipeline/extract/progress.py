"""Progress of an extract on stderr: a bar on a terminal, plain timestamped lines in logs, or nothing."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TextIO


class Progress:
    """Reports the phases (reading, encoding, search, writing) of one extract.

    ``mode`` is ``"auto"`` (a tqdm bar for the search when the stream is a terminal, plain lines
    otherwise, so logs never get ``\\r`` redraws), ``"plain"``, ``"bar"`` or ``"off"``.
    """

    def __init__(self, mode: str = "auto", stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "plain"
        self.mode = mode
        self.started = time.perf_counter()

    def say(self, message: str) -> None:
        """One line, prefixed with the seconds since the extract started."""
        if self.mode != "off":
            print(f"[extract {time.perf_counter() - self.started:6.1f}s] {message}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def phase(self, name: str):
        """Announce a phase and its duration."""
        self.say(f"{name} …")
        started = time.perf_counter()
        yield
        self.say(f"{name} done in {time.perf_counter() - started:.1f}s")

    @contextlib.contextmanager
    def nodes(self, total: int):
        """A counter for lattice nodes: a tqdm bar on a terminal, else a line every ~25 %."""
        if self.mode == "bar":
            from tqdm import tqdm  # only a terminal needs the bar
            with tqdm(total=total, desc="searching lattice", unit="node", file=self.stream, leave=False) as bar:
                yield bar.update
            return
        done = [0, 0]  # nodes settled, last quarter reported

        def update(count: int = 1) -> None:
            done[0] += count
            quarter = 4 * done[0] // max(total, 1)
            if quarter > done[1] and quarter < 4:
                done[1] = quarter
                self.say(f"searching lattice: {done[0]} of {total} nodes settled")
        yield update


SILENT = Progress("off")

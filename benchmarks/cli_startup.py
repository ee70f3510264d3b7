"""Start-up time of `anonpipe --help` and `anonpipe query` next to what they cannot beat, measured in the same run.

Baselines: the bare interpreter, the interpreter importing click (all `--help` needs), and importing DuckDB and
pyarrow (all a query needs). Each figure is the median wall time of fresh processes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
TARGET_S = 0.5


def median_seconds(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    python = [sys.executable]
    with tempfile.TemporaryDirectory() as data_dir:
        Path(data_dir, "lake").mkdir()
        rows = [
            ("python -c pass", python + ["-c", "pass"]),
            ("python -c 'import click'", python + ["-c", "import click"]),
            ("anonpipe --help", python + ["-m", "pipeline.cli", "--help"]),
            ("python -c 'import duckdb, pyarrow'", python + ["-c", "import duckdb, pyarrow"]),
            ("anonpipe query 'SELECT 42'",
             python + ["-m", "pipeline.cli", "query", "--data-dir", data_dir, "SELECT 42"]),
        ]
        print(f"{'command':<38} {'median s':>9}   ({RUNS} fresh processes each; target {TARGET_S} s)")
        for label, argv in rows:
            print(f"{label:<38} {median_seconds(argv):>9.3f}")


if __name__ == "__main__":
    main()

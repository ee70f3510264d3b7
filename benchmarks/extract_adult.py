"""Benchmark `anonpipe extract` on UCI Adult (k = 5) against ARX 3.9.2's figures, and `anonpipe --help` start-up."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.extract.anonymize import ExtractSettings, anonymize, encode  # noqa: E402
from pipeline.extract.io import read_table  # noqa: E402
from pipeline.extract.quality import LossMetric  # noqa: E402
from pipeline.extract.search import find_optimum  # noqa: E402
from pipeline.hierarchies import parse_hierarchy_arg  # noqa: E402

ADULT = REPO / "tests" / "data" / "adult"  # vendored, see its README.md for the licences
QIS = ["age", "education", "marital-status", "native-country", "occupation", "race", "sex", "workclass"]
# ARX 3.9.2 on the same data and hierarchies: median seconds per anonymization, Loss score.
ARX = {0.0: (0.17, 0.591585), 0.01: (0.61, 0.358785)}
RUNS = 7


def median_seconds(action, runs: int = RUNS) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def startup_seconds(arguments: list[str], runs: int = 5) -> float:
    """Median wall time of a fresh interpreter running ``arguments`` (start-up dominated)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return median_seconds(lambda: subprocess.run([sys.executable, *arguments], cwd=REPO, check=True,
                                                 capture_output=True, env=env), runs=runs)


def print_startup() -> None:
    """`anonpipe --help` next to a bare interpreter (the floor) and the extract's own --help, same run."""
    bare = startup_seconds(["-c", "pass"])
    print(f"start-up (median of 5): bare python {bare:.3f} s; "
          f"`anonpipe --help` {startup_seconds(['-m', 'pipeline.cli', '--help']):.3f} s (target < 0.5 s); "
          f"`anonpipe extract --help` {startup_seconds(['-m', 'pipeline.cli', 'extract', '--help']):.3f} s; "
          f"import pipeline.extract.cli {startup_seconds(['-c', 'import pipeline.extract.cli']) - bare:+.3f} s "
          "over bare")


def main() -> int:
    if not (ADULT / "adult.csv.gz").is_file():
        print(f"UCI Adult not found at {ADULT}; nothing to benchmark")
        return 1
    qi_args = [f"{q}={ADULT / f'adult_hierarchy_{q}.csv'}" for q in QIS]
    frame = read_table(ADULT / "adult.csv.gz")
    print(f"UCI Adult: {len(frame)} records, {len(QIS)} quasi-identifiers, k = 5; median of {RUNS} runs")
    header = f"{'suppression':>11} {'measure':<34} {'ours [s]':>9} {'ARX [s]':>8} {'ours/ARX':>9}  score (ARX)"
    print(header)
    print("-" * len(header))
    for suppression, (arx_seconds, arx_score) in ARX.items():
        settings = ExtractSettings(qi=tuple(parse_hierarchy_arg(a) for a in qi_args), k=5, suppression=suppression)
        table = encode(frame, settings)
        result = find_optimum(table, list(settings.models), LossMetric(), suppression)
        search = median_seconds(lambda: find_optimum(table, list(settings.models), LossMetric(), suppression))
        full = median_seconds(lambda: anonymize(frame, settings))
        with tempfile.TemporaryDirectory() as scratch:
            def cli_run(counter=iter(range(100))):
                out = Path(scratch) / f"out{next(counter)}"
                command = [sys.executable, "-m", "pipeline.extract.cli", str(ADULT / "adult.csv.gz"), "--k", "5",
                           "--suppression", str(suppression), "--out", str(out), "--no-progress"]
                for qi in qi_args:
                    command += ["--qi", qi]
                subprocess.run(command, cwd=REPO, check=True, capture_output=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
            cli = median_seconds(cli_run, runs=3)
        score = f"{result.score:.6f} ({arx_score:.6f})"
        for label, seconds in [("search (in-process)", search), ("encode+search+release (in-process)", full),
                               ("whole CLI process (subprocess)", cli)]:
            print(f"{suppression:>11.0%} {label:<34} {seconds:>9.3f} {arx_seconds:>8.2f} "
                  f"{seconds / arx_seconds:>9.2f}  {score}")
        print(f"{'':>11} levels {result.levels}, evaluated {result.evaluated} of {result.lattice_size} nodes")
    print_startup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CLI behaviour of `anonpipe extract`: errors, atomic output, re-keying, inputs, audit log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.extract.cli import SECRET_ENV, extract_command

REPO = Path(__file__).resolve().parents[2]
COLOR = "red;warm;*\norange;warm;*\nblue;cold;*\ngreen;cold;*\n"
SIZE = "small;any\nlarge;any\n"
ROWS = [  # user_id, email, color, size, diag
    ("u1", "a@x.org", "red", "small", "flu"), ("u2", "b@x.org", "red", "small", "flu"),
    ("u3", "c@x.org", "red", "large", "cold"), ("u4", "d@x.org", "orange", "small", "flu"),
    ("u5", "e@x.org", "blue", "large", "flu"), ("u6", "f@x.org", "blue", "large", "cold"),
    ("u7", "g@x.org", "blue", "small", "flu"), ("u8", "h@x.org", "green", "large", "flu"),
]
SECRET = "s3cr3t-value-for-tests-0123456789"


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "color.csv").write_text(COLOR)
    (tmp_path / "size.csv").write_text(SIZE)
    frame = pd.DataFrame(ROWS, columns=["user_id", "email", "color", "size", "diag"])
    frame.to_csv(tmp_path / "in.csv", sep=";", index=False)
    return tmp_path


def invoke(workspace, *extra, out="out", env=None):
    args = [str(workspace / "in.csv"), "--qi", f"color={workspace / 'color.csv'}",
            "--qi", f"size={workspace / 'size.csv'}", "--k", "2", "--out", str(workspace / out), *extra]
    return CliRunner().invoke(extract_command, args, env=env or {})


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith((".out", "out", "extract-audit")))


def test_default_run_drops_identifiers_and_reports(workspace):
    result = invoke(workspace)
    assert result.exit_code == 0, result.output
    released = pd.read_csv(workspace / "out" / "extract.csv", dtype=str)
    assert list(released.columns) == ["color", "size"]  # user_id, email and diag are dropped
    report = json.loads((workspace / "out" / "report.json").read_text())
    assert report["columns"]["dropped"] == ["user_id", "email", "diag"]
    assert report["achieved"]["k"] == released.groupby(["color", "size"]).size().min() >= 2
    # progress goes to stderr as plain lines (no terminal here), never into the summary
    for phase in ("reading", "encoding", "searching", "writing"):
        assert f"] {phase}" in result.stderr
    assert "\r" not in result.stderr and "[extract" not in result.stdout


@pytest.mark.parametrize(
    "extra, prepare, message",
    [
        # unknown QI column
        (["--qi", "shoe=interval:5"], None, "unknown column(s) 'shoe'"),
        # unknown kept column
        (["--keep", "phone"], None, "unknown column(s) 'phone'"),
        # hierarchy lacks a value present in the data
        ([], lambda w: (w / "color.csv").write_text("red;warm;*\nblue;cold;*\n"), "no entry for 2 value(s)"),
        # k larger than the table
        (["--k", "9"], None, "larger than the table"),
        # a value mapping to two parents
        ([], lambda w: (w / "color.csv").write_text(COLOR + "pink;warm;hot\n"), "more than one parent"),
        # rows of unequal length
        ([], lambda w: (w / "size.csv").write_text("small;any\nlarge\n"), "rows must have equal length"),
        # l without a sensitive column
        (["--l", "2"], None, "need a --sensitive column"),
        # a role given twice
        (["--keep", "color"], None, "more than one role"),
        # a stable re-keying key without a secret
        (["--rekey", "user_id", "--recipient", "acme", "--stable-key"], None, "needs a secret"),
        # an identifier column kept as is
        (["--keep", "user_id"], None, "identifier column(s)"),
        # a weight for a column that is not a quasi-identifier
        (["--weight", "diag=2"], None, "not a quasi-identifier"),
        # a level range outside the hierarchy
        (["--levels", "color=0:5"], None, "<= 2, the height"),
        # neither a file nor the lake
        (["--from-lake", "."], None, "either an INPUT file or --from-lake"),
        # unsatisfiable: 3 distinct diagnoses do not exist
        (["--sensitive", "diag", "--l", "3"], None, "no generalization satisfies"),
        # bad builder spec, validated before reading anything
        (["--qi", "user_id=interval:width=5,7"], None, "not a multiple"),
    ],
)
def test_bad_input_gives_one_clear_error_and_no_output(workspace, extra, prepare, message):
    if prepare:
        prepare(workspace)
    result = invoke(workspace, *extra)
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("[extract")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert leftovers(workspace) == []  # no extract, no staging directory, no audit entry


def test_existing_output_is_not_overwritten(workspace):
    (workspace / "out").mkdir()
    (workspace / "out" / "keep.txt").write_text("mine")
    result = invoke(workspace)
    assert result.exit_code != 0 and "already exists" in result.stderr
    assert (workspace / "out" / "keep.txt").read_text() == "mine"


def test_rekey_is_one_off_by_default_and_stable_only_when_asked(workspace):
    env = {SECRET_ENV: SECRET}
    runs = {}
    for out, recipient, extra in [("one_a", "acme", ()), ("one_a2", "acme", ()),
                                  ("st_a", "acme", ("--stable-key",)), ("st_b", "globex", ("--stable-key",)),
                                  ("st_a2", "acme", ("--stable-key",))]:
        result = invoke(workspace, "--rekey", "user_id", "--keep", "diag", "--recipient", recipient, *extra,
                        out=out, env=env)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output
        runs[out] = set(pd.read_csv(workspace / out / "extract.csv", dtype=str)["user_id"])
        for path in (workspace / out).iterdir():
            assert SECRET.encode() not in path.read_bytes()
    original = {row[0] for row in ROWS}
    assert runs["one_a"].isdisjoint(original) and len(runs["one_a"]) == len(ROWS)  # re-keyed, one value per user
    assert runs["one_a"].isdisjoint(runs["one_a2"])  # by default two extracts to one recipient do not join
    assert runs["st_a"].isdisjoint(runs["st_b"])  # stable keys differ between recipients
    assert runs["st_a"] == runs["st_a2"]  # and stay the same for one recipient
    report = json.loads((workspace / "one_a" / "report.json").read_text())
    assert report["rekey_key"].startswith("one-off")
    # a re-keyed person id is a linkable trajectory: counted and warned about
    assert report["trajectories"]["people"] == len(ROWS)
    assert any("trajectory" in w for w in report["warnings"])
    assert SECRET not in (workspace / "extract-audit.log").read_text()
    assert len((workspace / "extract-audit.log").read_text().splitlines()) == 5  # append-only, one per run


def test_secret_file_and_custom_audit_log(workspace):
    (workspace / "secret.bin").write_text(SECRET + "\n")
    audit = workspace / "logs" / "audit.jsonl"
    result = invoke(workspace, "--rekey", "user_id", "--recipient", "acme", "--stable-key", "--secret-file",
                    str(workspace / "secret.bin"), "--audit-log", str(audit))
    assert result.exit_code == 0, result.output
    env_result = invoke(workspace, "--rekey", "user_id", "--recipient", "acme", "--stable-key", out="out2",
                        env={SECRET_ENV: SECRET})
    assert env_result.exit_code == 0, env_result.output
    # the trailing newline of the file is not part of the secret: both runs agree
    first = pd.read_csv(workspace / "out" / "extract.csv", dtype=str)["user_id"]
    second = pd.read_csv(workspace / "out2" / "extract.csv", dtype=str)["user_id"]
    assert first.tolist() == second.tolist()
    assert json.loads(audit.read_text())["rekey_key_id"] == json.loads(
        (workspace / "out" / "report.json").read_text())["rekey_key_id"]


def test_l_diversity_holds_in_the_released_file(workspace, oracle):
    result = invoke(workspace, "--sensitive", "diag", "--l", "2")
    assert result.exit_code == 0, result.output
    released = pd.read_csv(workspace / "out" / "extract.csv", dtype=str)
    assert oracle.class_sizes(released, ["color", "size"]).min() >= 2
    assert oracle.distinct_sensitive(released, ["color", "size"], "diag").min() >= 2
    report = json.loads((workspace / "out" / "report.json").read_text())
    assert report["achieved"]["l"]["distinct"] == oracle.distinct_sensitive(released, ["color", "size"], "diag").min()


@pytest.mark.parametrize("kind", ["comma-csv", "parquet"])  # the ';' CSV is the fixture's default
def test_other_input_formats_give_the_same_extract(workspace, kind):
    frame = pd.read_csv(workspace / "in.csv", sep=";", dtype=str)
    assert invoke(workspace).exit_code == 0
    if kind == "comma-csv":
        frame.to_csv(workspace / "in.csv", sep=",", index=False)
    else:
        os.remove(workspace / "in.csv")
        frame.to_parquet(workspace / "in.csv", index=False)  # detected by content, not by name
    assert invoke(workspace, out="out2").exit_code == 0
    assert (workspace / "out" / "extract.csv").read_text() == (workspace / "out2" / "extract.csv").read_text()


def test_runs_as_a_module(workspace):
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline.extract.cli", str(workspace / "in.csv"), "--qi",
         f"color={workspace / 'color.csv'}", "--k", "2", "--out", str(workspace / "out"), "--no-progress"],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "extract written to" in completed.stdout
    assert (workspace / "out" / "manifest.json").is_file()


def test_builder_hierarchies_end_to_end(tmp_path, oracle):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, 200).astype(str),
        "zip": [f"{z:05d}" for z in rng.integers(10000, 10400, 200)],
        "seen": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400 * 24, 200), unit="h"),
    })
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    result = CliRunner().invoke(extract_command, [
        str(tmp_path / "in.parquet"), "--qi", "age=interval:width=5,10,20", "--qi", "zip=prefix:1,2,3",
        "--qi", "seen=date:day,month,year", "--k", "4", "--suppression", "0.05", "--out", str(tmp_path / "out"),
    ])
    assert result.exit_code == 0, result.output
    released = pd.read_parquet(tmp_path / "out" / "extract.parquet")
    assert len(released) >= 200 - 10
    assert oracle.class_sizes(released, ["age", "zip", "seen"]).min() >= 4
    levels = json.loads((tmp_path / "out" / "report.json").read_text())["transformation"]
    # every released label has the shape of its level, e.g. "[20, 30)" for age at width 10
    if levels["zip"]["level"] in (1, 2, 3):
        assert released["zip"].str.endswith("*" * levels["zip"]["level"]).all()


def test_t_closeness_holds_in_the_released_file(workspace):
    result = invoke(workspace, "--sensitive", "diag", "--t", "0.2", "--suppression", "0.3")
    assert result.exit_code == 0, result.output
    released = pd.read_csv(workspace / "out" / "extract.csv", dtype=str)
    assert len(released) >= len(ROWS) - 2  # floor(0.3 * 8) records may be suppressed
    overall = pd.Series([row[4] for row in ROWS]).value_counts(normalize=True)
    for _, group in released.groupby(["color", "size"]):
        local = group["diag"].value_counts(normalize=True).reindex(overall.index, fill_value=0)
        assert 0.5 * (local - overall).abs().sum() <= 0.2 + 1e-12


def test_registering_the_command_imports_nothing_heavy():
    """`anonpipe --help` imports this module on every call: pandas, pyarrow and the search load only on use."""
    code = ("import sys, pipeline.extract.cli; "
            "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow', 'matplotlib', 'tqdm', 'h3') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"

"""Reproduce ARX 3.9.2's optima on UCI Adult and check the CLI's extract independently."""

from __future__ import annotations

import hashlib
import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.extract.anonymize import ExtractSettings, anonymize
from pipeline.extract.cli import extract_command
from pipeline.extract.io import read_table
from pipeline.hierarchies import parse_hierarchy_arg

ADULT_QIS = ["age", "education", "marital-status", "native-country", "occupation", "race", "sex", "workclass"]

# ARX 3.9.2, k = 5, Loss metric (geometric mean): levels in ADULT_QIS order, suppressed, classes, min size, score
ARX_REFERENCE = {
    0.0: ((4, 3, 2, 2, 1, 0, 0, 2), 0, 30, 16, 0.591585),
    0.01: ((3, 3, 1, 1, 2, 0, 0, 1), 273, 147, 5, 0.358785),
}


@pytest.fixture(scope="module")
def adult_frame(adult_dir):
    return read_table(adult_dir / "adult.csv.gz")


def qi_args(adult_dir) -> list[str]:
    return [f"{q}={adult_dir / f'adult_hierarchy_{q}.csv'}" for q in ADULT_QIS]


@pytest.mark.parametrize("suppression", [0.0, 0.01])  # the two configurations ARX was run with
def test_search_reproduces_arx_optimum(adult_dir, adult_frame, suppression):
    levels, suppressed, classes, min_size, score = ARX_REFERENCE[suppression]
    settings = ExtractSettings(qi=tuple(parse_hierarchy_arg(a) for a in qi_args(adult_dir)), k=5,
                               suppression=suppression)
    result = anonymize(adult_frame, settings)
    assert len(adult_frame) == 30162
    assert result.search.levels == levels
    assert result.search.score == pytest.approx(score, abs=1e-6)
    assert result.suppressed_records == suppressed
    assert len(result.class_sizes) == classes
    assert result.class_sizes.min() == min_size


def test_cli_extract_holds_up_to_independent_checks(adult_dir, tmp_path, oracle):
    out = tmp_path / "acme"
    args = [str(adult_dir / "adult.csv.gz"), "--k", "5", "--suppression", "0.01", "--out", str(out),
            "--keep", "salary-class", "--recipient", "acme", "--no-progress"]
    for qi in qi_args(adult_dir):
        args += ["--qi", qi]
    result = CliRunner().invoke(extract_command, args)
    assert result.exit_code == 0, result.output

    released = pd.read_csv(out / "extract.csv", dtype=str, keep_default_na=False)
    report = json.loads((out / "report.json").read_text())
    n = 30162
    # every released record is in a class of at least k, recomputed from the file
    assert oracle.class_sizes(released, ADULT_QIS).min() >= 5
    # suppression within floor(1% of N) and consistent with the file
    assert n - len(released) == report["records"]["suppressed"] <= math.floor(0.01 * n)
    # the 8 QIs and the kept salary-class are all of Adult's columns, in input order
    assert list(released.columns) == list(read_table(adult_dir / "adult.csv.gz").columns)
    # the score recomputed from released labels and the hierarchy files
    hierarchies = {q: oracle.read_arx_hierarchy(adult_dir / f"adult_hierarchy_{q}.csv") for q in ADULT_QIS}
    levels = {q: report["transformation"][q]["level"] for q in ADULT_QIS}
    recomputed = oracle.loss_score(released, n, hierarchies, levels)
    assert recomputed == pytest.approx(report["score"]["value"], abs=1e-9)
    assert recomputed == pytest.approx(0.358785, abs=1e-6)
    # parquet and csv carry the same records
    assert pd.read_parquet(out / "extract.parquet").astype(str).equals(released)
    # the manifest vouches for every file
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    assert set(manifest) == {"extract.csv", "extract.parquet", "report.json", "report.html"}
    for name, entry in manifest.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"]
    # risk follows from the class sizes
    sizes = oracle.class_sizes(released, ADULT_QIS)
    assert report["risk"]["prosecutor"]["highest"] == pytest.approx(1 / sizes.min())
    assert report["risk"]["prosecutor"]["average"] == pytest.approx((1 / sizes).mean())
    assert report["equivalence_classes"]["count"] == released.groupby(ADULT_QIS).ngroups
    page = (out / "report.html").read_text()
    # the report speaks in words: the model, each attribute's level with its meaning, no raw JSON
    assert "at least 5 different records" in page and "k-anonymity with k = 5" in page
    assert "level 1 of the hierarchy" in page and '{"model"' not in page
    audit = (tmp_path / "extract-audit.log").read_text().splitlines()
    assert len(audit) == 1 and json.loads(audit[0])["recipient"] == "acme"

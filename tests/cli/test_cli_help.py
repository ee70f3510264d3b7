"""Every command's --help: it works, every option says what it does and which environment variable sets it,
an option shared by several commands is the same option everywhere, and --help / query load no heavy library."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import cli


def walk(command: click.Command, path: tuple[str, ...] = ()):
    """(path, command) for the root and every subcommand, depth first."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(cli))
OPTIONS = [(path, param) for path, command in COMMANDS for param in command.params
           if isinstance(param, click.Option) and param.name not in {"help", "version"}]


def test_the_walk_finds_every_command():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"broker", "worker", "generate", "publish", "demo", "close-windows", "keys new", "lake compact",
            "query", "report", "forget", "extract"} <= names


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "anonpipe")
def test_help_works(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize("path, option", OPTIONS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else x.name)
def test_every_option_has_help(path, option):
    assert option.help and option.help.strip(), f"{' '.join(path)} {option.opts[0]} has no help text"


@pytest.mark.parametrize("path, option", [(p, o) for p, o in OPTIONS if o.envvar],
                         ids=lambda x: " ".join(x) if isinstance(x, tuple) else x.name)
def test_environment_variables_are_shown_in_help(path, option):
    output = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200).output
    envvars = [option.envvar] if isinstance(option.envvar, str) else option.envvar
    for name in envvars:
        assert name in output, f"{' '.join(path)} {option.opts[0]}: {name} missing from --help"


def test_an_option_shared_by_commands_is_one_option():
    # same flag → same type, metavar, environment variable and parameter name in every command
    forms = defaultdict(set)
    for path, option in OPTIONS:
        forms[option.opts[0]].add((type(option.type).__name__, option.metavar, option.envvar, option.name,
                                   getattr(option.type, "file_okay", None), getattr(option.type, "dir_okay", None)))
    differing = {flag: sorted(map(str, variants)) for flag, variants in forms.items() if len(variants) > 1}
    # --out is a file for most commands and a directory for the extract; --zone is a lake zone to compact, an
    # audience to query as, a zone to extract from; --k overrides the policy's k (demo) or sets the extract's
    assert set(differing) <= {"--out", "--zone", "--k"}, differing


def test_malformed_has_one_default():
    defaults = {option.default for _, option in OPTIONS if option.opts[0] == "--malformed"}
    assert len(defaults) == 1


def loaded_after(*argv: str) -> set[str]:
    """Top-level packages imported by running `anonpipe ARGV` in a fresh interpreter."""
    code = ("import sys\nfrom pipeline.cli import main\nsys.argv = ['anonpipe', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    return set(result.stderr.strip().splitlines()[-1].split())


HEAVY = {"numpy", "pandas", "pyarrow", "duckdb", "matplotlib", "faust", "presidio_analyzer", "spacy", "kafka"}


def test_help_loads_no_heavy_library():
    assert loaded_after("--help") & HEAVY == set()
    assert loaded_after("query", "--help") & HEAVY == set()


def test_query_prints_without_pandas_or_matplotlib(tmp_path):
    assert loaded_after("query", "--data-dir", str(tmp_path), "SELECT 42") & HEAVY == {"duckdb", "pyarrow", "numpy"}


def test_query_over_a_lake_with_aggregates_prints_without_pandas(tmp_path):
    # The local-time views map H3 cells to districts; registering that map as an Arrow table made DuckDB import
    # pandas (~0.5 s) on every query of a real lake.
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    partition = tmp_path / "lake" / "aggregates" / "event_date=2026-12-01"
    partition.mkdir(parents=True)
    start = dt.datetime(2026, 12, 1, 10, tzinfo=dt.timezone.utc)
    pq.write_table(pa.table({"window_start": pa.array([start], pa.timestamp("ms", tz="UTC")),
                             "geo_h3": ["872e5a1b4ffffff"], "events": [7]}), partition / "part.parquet")
    loaded = loaded_after("query", "--data-dir", str(tmp_path), "SELECT sum(events) FROM aggregates_local")
    assert "pandas" not in loaded and "duckdb" in loaded

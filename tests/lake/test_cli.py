"""LAKE_COMMANDS: the shape the lead registers, and --data-dir from the environment."""

from __future__ import annotations

import click

from pipeline.lake.cli import LAKE_COMMANDS, lake_group, query_command


def test_exported_commands():
    names = {c.name: c for c in LAKE_COMMANDS}
    assert set(names) == {"lake", "query", "report", "forget", "export-person", "release-people"}
    assert isinstance(names["lake"], click.Group)
    assert set(names["lake"].commands) == {"compact", "retention", "maintain"}
    leaves = [names["query"], names["report"], names["forget"], names["export-person"],
              *names["lake"].commands.values()]
    for command in leaves:
        assert "--data-dir" in [opt for p in command.params for opt in getattr(p, "opts", [])], command.name


def test_data_dir_comes_from_environment(data_dir, run):
    result = run(query_command, ["SELECT count(*) AS n FROM window_stats"], env={"ANONPIPE_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    assert "96" in result.output  # 4 days × 24 hourly windows
    missing = run(lake_group, ["compact"], env={"ANONPIPE_DATA_DIR": str(data_dir / "nope")})
    assert missing.exit_code == 1 and str(data_dir / "nope") in missing.output


def test_the_demo_next_steps_run(data_dir, run):
    # the commands the demo prints after its summary work on a lake as written by the pipeline
    import shlex

    from pipeline.cli import cli
    from pipeline.demo import Summary
    summary = Summary(events_in=0, dlq=0, pseudonymized_rows=0, aggregate_rows=0, suppressed_events=0, late_events=0,
                      windows=0, files_written=0, wall_seconds=0.0, data_dir=data_dir)
    commands = [shlex.split(line) for line in summary.next_steps() if line.strip().startswith("anonpipe ")]
    assert [c[1] for c in commands] == ["query", "report"]
    for command in commands:
        result = run(cli, command[1:])
        assert result.exit_code == 0, result.output
    assert "(10 rows)" in run(cli, commands[0][1:]).output
    assert (data_dir / "report.html").stat().st_size > 0

"""`anonpipe extract`: the command-line front end of the third-party extract tool."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.extract.secret import SECRET_ENV
from pipeline.options import DATA_DIR, policy_option

# Only click and the standard library are imported here: `anonpipe --help` registers this command on
# every call, so pandas, pyarrow and the search are imported inside `run_extract` (start-up time).

PROGRESS_MODES = ("auto", "plain", "bar", "off")


def parse_weights(arguments) -> tuple[tuple[str, float], ...]:
    """`COL=W` pairs."""
    out = []
    for argument in arguments:
        column, sep, value = argument.partition("=")
        try:
            out.append((column.strip(), float(value)))
        except ValueError:
            sep = ""
        if not sep or not column.strip():
            raise click.BadParameter(f"{argument!r}: expected COL=WEIGHT, e.g. geo_h3=4", param_hint="--weight")
    return tuple(out)


def parse_level_bounds(arguments) -> tuple[tuple[str, int | None, int | None], ...]:
    """`COL=MIN:MAX` with either side optional (`geo_h3=:2` caps the level at 2)."""
    out = []
    for argument in arguments:
        column, sep, bounds = argument.partition("=")
        low, colon, high = bounds.partition(":")
        try:
            if not sep or not colon or not column.strip():
                raise ValueError
            out.append((column.strip(), int(low) if low.strip() else None, int(high) if high.strip() else None))
        except ValueError:
            raise click.BadParameter(f"{argument!r}: expected COL=MIN:MAX, e.g. geo_h3=:2 or event_hour=1:3",
                                     param_hint="--levels") from None
    return tuple(out)


@click.command("extract")
@click.argument("input_path", metavar="[INPUT]", required=False, type=click.Path(path_type=Path))
@click.option("--from-lake", "data_dir", type=DATA_DIR, metavar="DIRECTORY",
              help="Read the lake under this data directory instead of an INPUT file.")
@click.option("--zone", default="restricted", show_default=True, help="Lake zone to read (event-level rows).")
@click.option("--days", default=None, metavar="START..END|DATE|N",
              help="Lake partitions (UTC dates) to read; N = the latest N days.  [default: all]")
@click.option("--columns", default=None, metavar="COL,COL,...",
              help="Quasi-identifiers to release (lake or file); each gets the policy's hierarchy unless --qi "
                   "gives one (timestamps: date:hour,day,week; others: star). `properties.KEY` reads a JSON key.")
@click.option("--qi", multiple=True, metavar="COL=HIERARCHY",
              help="Quasi-identifier and its hierarchy: an ARX CSV file or a builder spec "
                   "(star, h3:, date:, interval:, prefix:, districts:; see docs/extract.md).")
@policy_option(help="Policy YAML for default hierarchies, the time zone and identifier columns "
                    "(default: the packaged policy).")
@click.option("--sensitive", metavar="COL", help="Sensitive attribute (released, protected by --l/--t).")
@click.option("--k", type=int, required=True, help="Minimum number of distinct people in every released class.")
@click.option("--subject", "subjects", multiple=True, metavar="COL",
              help="Column naming each record's person (repeat to link several: co-occurring ids are one person); "
                   "`none` = every record is its own person.  [default: the user/device/cookie pseudonyms present]")
@click.option("--l", "l_value", type=float, help="l-diversity of the sensitive attribute.")
@click.option("--l-variant", type=click.Choice(["distinct", "entropy"]), default="distinct", show_default=True,
              help="l-diversity variant.")
@click.option("--t", "t_value", type=float, help="Equal-distance t-closeness of the sensitive attribute.")
@click.option("--suppression", type=float, default=0.0, show_default=True,
              help="Largest share of records that may be suppressed.")
@click.option("--metric", type=click.Choice(["loss", "granularity", "discernibility"]), default="loss",
              show_default=True, help="Information-loss model the search minimizes.")
@click.option("--weight", "weights", multiple=True, metavar="COL=W",
              help="Attribute weight in the loss (default 1): a heavier QI is generalized less.")
@click.option("--levels", "level_bounds", multiple=True, metavar="COL=MIN:MAX",
              help="Generalization levels the search may choose for COL (either side optional).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output directory (new).")
@click.option("--recipient", help="Who receives the extract (report, audit log; names a --stable-key).")
@click.option("--keep", multiple=True, metavar="COL", help="Insensitive column to release unchanged.")
@click.option("--allow-identifiers", is_flag=True,
              help="Permit identifier columns (pseudonyms, event/session ids) in --keep; warned in the report.")
@click.option("--rekey", multiple=True, metavar="COL",
              help="Release this pseudonym column re-keyed (a person id makes each person's rows linkable).")
@click.option("--stable-key", is_flag=True,
              help="Re-key with the recipient's stable key (extracts to one recipient join) instead of a one-off key.")
@click.option("--secret-file", type=click.Path(path_type=Path, dir_okay=False),
              help=f"Secret of --stable-key  [env: {SECRET_ENV}].")
@click.option("--risk-threshold", type=float, default=0.2, show_default=True,
              help="People in classes whose re-identification risk exceeds this are counted in the report.")
@click.option("--audit-log", type=click.Path(path_type=Path, dir_okay=False),
              help="Audit log to append to.  [default: DIR/../extract-audit.log]")
@click.option("--progress", type=click.Choice(PROGRESS_MODES), default="auto", show_default=True,
              help="Progress on stderr: a bar on a terminal, plain lines otherwise (auto), or off.")
@click.option("--no-progress", is_flag=True, help="Same as --progress off.")
def extract_command(**options):
    """Release a table or lake zone as an optimal k-anonymous (l-diverse, t-close) extract for a recipient."""
    from pipeline.extract.run import USER_ERRORS, run_extract  # heavy: pandas, pyarrow, the search
    options["weights"] = parse_weights(options["weights"])
    options["level_bounds"] = parse_level_bounds(options["level_bounds"])
    if options.pop("no_progress"):
        options["progress"] = "off"
    try:
        summary = run_extract(**options)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary)


if __name__ == "__main__":
    extract_command()

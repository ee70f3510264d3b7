"""`anonpipe keys new|list|retire|destroy`: manage the key ring file without ever printing key material."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pipeline.keys.epochs import DESTROYED, PERIODS
from pipeline.options import keyring_option, policy_option


def _ring(path: Path, missing_is_empty: bool = False):
    from pipeline.keys.ring import KeyRing  # numpy: only the commands that open a ring pay for it
    return KeyRing([]) if missing_is_empty and not path.exists() else KeyRing.load(path)


@click.group("keys")
def keys_group() -> None:
    """Manage pseudonymization keys (one per epoch; destroy = crypto-shredding)."""


@keys_group.command("new")
@keyring_option()
@click.option("--period", type=click.Choice(PERIODS), default="monthly", show_default=True,
              help="Length of the key's epoch (one key per epoch).")
@click.option("--at", "at", type=click.DateTime(), default=None,
              help="a moment inside the epoch to create (default: the epoch after the last key, or now)")
def keys_new(keyring_path: Path, period: str, at: dt.datetime | None) -> None:
    """Add a random 256-bit key for one epoch."""
    ring = _ring(keyring_path, missing_is_empty=True)
    moment = at.replace(tzinfo=dt.timezone.utc) if at else None
    ring, key = ring.with_new_key(period, moment)
    ring.save(keyring_path)
    click.echo(f"created key {key.key_id} valid {key.not_before.isoformat()} .. {key.not_after.isoformat()}")


@keys_group.command("list")
@keyring_option()
def keys_list(keyring_path: Path) -> None:
    """Key ids, validity and status (never the secret)."""
    ring = _ring(keyring_path)
    click.echo(f"{'id':<14} {'not_before':<26} {'not_after':<26} status")
    for key in ring.keys:
        click.echo(f"{key.key_id:<14} {key.not_before.isoformat():<26} {key.not_after.isoformat():<26} {key.status}")


@keys_group.command("retire")
@keyring_option()
@click.argument("key_id")
@policy_option(help="Policy YAML whose validation.max_age_days says how long an epoch still receives events "
                    "(default: the packaged policy).")
def keys_retire(keyring_path: Path, key_id: str, policy_path: str | None) -> None:
    """Stop using a key: events of its epoch go to the DLQ (code key_retired), never to another key; it stays
    held so erasure requests can still be served. Refused while its epoch still receives events."""
    from pipeline.policy.loader import load_policy  # pyarrow and every operator: only this command needs it
    max_age = dt.timedelta(days=load_policy(policy_path).policy.validation.max_age_days)
    _ring(keyring_path).retired(key_id, max_age).save(keyring_path)
    click.echo(f"retired {key_id}")


@keys_group.command("destroy")
@keyring_option()
@click.argument("key_id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def keys_destroy(keyring_path: Path, key_id: str, yes: bool) -> None:
    """Wipe a key's secret: that epoch's pseudonyms can never be recomputed or linked again."""
    if not yes:
        click.confirm(f"destroy key {key_id} for good?", abort=True)
    _ring(keyring_path).with_status(key_id, DESTROYED).save(keyring_path)
    click.echo(f"destroyed {key_id}")

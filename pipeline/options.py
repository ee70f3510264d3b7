"""Command-line options several commands share: one name, type, metavar, environment variable and help each.

Only click and the standard library are imported here: every `anonpipe` call loads this module.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

# Every option that reads an environment variable says so in --help ("[env var: ANONPIPE_…]").
option = functools.partial(click.option, show_envvar=True)

DATA_DIR = click.Path(file_okay=False, path_type=Path)
FILE = click.Path(dir_okay=False, path_type=Path)
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _shared(*declarations, **attributes):
    """A shared option; a command may override an attribute (its own help text, `required`), never the name."""
    return lambda **overrides: option(*declarations, **{**attributes, **overrides})


data_dir_option = _shared(
    "--data-dir", type=DATA_DIR, envvar="ANONPIPE_DATA_DIR", default="./data", show_default=True,
    metavar="DIRECTORY", help="Root of the lake, the DLQ and the audit logs.")
bootstrap_option = _shared(
    "--bootstrap", envvar="ANONPIPE_BOOTSTRAP", required=True, metavar="HOST:PORT[,…]",
    help="Kafka bootstrap servers.")
policy_option = _shared(
    "--policy", "policy_path", type=FILE, envvar="ANONPIPE_POLICY", default=None, metavar="FILE",
    help="Policy YAML (default: the packaged policy, pipeline/policy/default.yaml).")
keyring_option = _shared(
    "--keyring", "keyring_path", type=FILE, envvar="ANONPIPE_KEYRING", required=True, default=None, metavar="FILE",
    help="Key ring JSON file (mode 0600; key material is never printed).")
metrics_port_option = _shared(
    "--metrics-port", envvar="ANONPIPE_METRICS_PORT", type=click.IntRange(min=0), default=0, show_default=True,
    help="Serve Prometheus metrics on this port (0: off).")
events_option = _shared(
    "--events", "count", type=click.IntRange(min=1), default=20_000, show_default=True,
    help="Number of synthetic events.")
seed_option = _shared(
    "--seed", type=int, default=7, show_default=True, help="Seed of the synthetic generator (same seed, same events).")
malformed_option = _shared(
    "--malformed", type=click.FloatRange(0.0, 1.0), default=0.02, show_default=True, metavar="FRACTION",
    help="Fraction of deliberately broken events mixed in (each must end in the DLQ).")


def loaded_classes(names: tuple[tuple[str, str], ...]) -> tuple[type, ...]:
    """The classes (module, name) among modules already imported.

    An exception can only have been raised once its module is loaded, so error handlers can test against these
    without importing (and paying the start-up time of) every module that defines one.
    """
    return tuple(getattr(sys.modules[module], name) for module, name in names if module in sys.modules)

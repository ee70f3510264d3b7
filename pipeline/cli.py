"""`anonpipe` command line: broker, worker, generate, publish, demo, keys, lake tools, extract."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.keys.cli import keys_group


def _parse_stages(ctx, param, value: str) -> tuple[str, ...]:
    from pipeline.settings import STAGES
    stages = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [stage for stage in stages if stage not in STAGES]
    if unknown or not stages:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'} is not a stage; choose from {', '.join(STAGES)}")
    return stages


def _data_dir_option(func):
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ANONPIPE_DATA_DIR",
                        default="./data", show_default=True, help="lake root (env ANONPIPE_DATA_DIR)")(func)


@click.group()
@click.version_option(package_name="anonpipe")
def cli() -> None:
    """Telemetry anonymization pipeline: validate → pseudonymize → k-anonymize → Parquet lake → extracts."""


@cli.command()
@click.option("--port", type=int, default=9092, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def broker(port: int, host: str) -> None:
    """Run the embedded Kafka-compatible broker (Tansu, in-memory) in the foreground."""
    import time

    from pipeline.broker import EmbeddedBroker
    with EmbeddedBroker(host=host, port=port) as running:
        click.echo(f"embedded broker ready at {running.bootstrap} (memory storage; Ctrl-C stops it)")
        try:
            while running.process and running.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


@cli.command()
@click.option("--bootstrap", envvar="ANONPIPE_BOOTSTRAP", required=True, help="Kafka bootstrap servers")
@_data_dir_option
@click.option("--policy", "policy_path", envvar="ANONPIPE_POLICY", default=None, help="policy YAML")
@click.option("--lake-url", envvar="ANONPIPE_LAKE_URL", default=None,
              help="write the lake zones to an object store (s3://bucket/prefix, gs://…); DLQ stays in --data-dir")
@click.option("--keyring", "keyring_path", envvar="ANONPIPE_KEYRING", default=None, help="key ring JSON (0600)")
@click.option("--partitions", envvar="ANONPIPE_PARTITIONS", type=int, default=4, show_default=True)
@click.option("--replication-factor", type=int, default=None, help="of created topics (default 1 embedded, else 3)")
@click.option("--embedded", is_flag=True, help="the broker is the embedded Tansu (enables its workarounds)")
@click.option("--broker-wait", envvar="ANONPIPE_BROKER_WAIT", type=float, default=60.0, show_default=True,
              help="seconds to wait for the broker at start-up (retrying with backoff); 0 = forever")
@click.option("--demo", is_flag=True, help="allow an ephemeral key ring (never in production)")
@click.option("--stages", envvar="ANONPIPE_STAGES", default="ingest,kanon,lake", show_default=True,
              callback=_parse_stages, help="stages this worker runs, comma-separated (a consumer group per set)")
@click.option("--sink-flush-messages", envvar="ANONPIPE_SINK_FLUSH_MESSAGES", type=click.IntRange(min=1),
              default=200, show_default=True, help="a lake sink writes a file after this many messages …")
@click.option("--sink-flush-seconds", envvar="ANONPIPE_SINK_FLUSH_SECONDS", type=click.FloatRange(min=0.05),
              default=2.0, show_default=True, help="… or after this many seconds")
@click.option("--web-port", envvar="ANONPIPE_WEB_PORT", type=int, default=0, show_default=True)
@click.option("--metrics-port", envvar="ANONPIPE_METRICS_PORT", type=int, default=0, show_default=True)
@click.option("--worker-id", envvar="ANONPIPE_WORKER_ID", default=None)
@click.option("--log-format", envvar="ANONPIPE_LOG_FORMAT", type=click.Choice(["text", "json"]), default="text")
@click.option("--log-level", envvar="ANONPIPE_LOG_LEVEL", default="INFO")
@click.option("--security-protocol", envvar="ANONPIPE_SECURITY_PROTOCOL", default="PLAINTEXT")
@click.option("--sasl-mechanism", envvar="ANONPIPE_SASL_MECHANISM", default=None)
@click.option("--sasl-username", envvar="ANONPIPE_SASL_USERNAME", default=None)
@click.option("--sasl-password", envvar="ANONPIPE_SASL_PASSWORD", default=None)
@click.option("--ssl-cafile", envvar="ANONPIPE_SSL_CAFILE", default=None)
def worker(bootstrap, data_dir, policy_path, lake_url, keyring_path, partitions, replication_factor, embedded,
           broker_wait, demo, stages, sink_flush_messages, sink_flush_seconds, web_port, metrics_port, worker_id,
           log_format, log_level, security_protocol, sasl_mechanism, sasl_username, sasl_password,
           ssl_cafile) -> None:
    """Run a pipeline worker (all stages unless --stages; scale out by starting more with the same stages)."""
    from pipeline.settings import KafkaSettings, WorkerSettings
    from pipeline.worker import run_worker
    _configure_logging(log_format, log_level, secrets=[sasl_password])
    settings = WorkerSettings(
        kafka=KafkaSettings(bootstrap=bootstrap, security_protocol=security_protocol, sasl_mechanism=sasl_mechanism,
                            sasl_username=sasl_username, sasl_password=sasl_password, ssl_cafile=ssl_cafile,
                            partitions=partitions, replication=replication_factor, embedded=embedded),
        data_dir=data_dir, lake_url=lake_url, policy_path=policy_path, keyring_path=keyring_path, demo=demo,
        web_port=web_port, metrics_port=metrics_port, log_format=log_format, log_level=log_level, broker_wait=broker_wait,
        stages=stages, sink_flush_messages=sink_flush_messages, sink_flush_seconds=sink_flush_seconds)
    if worker_id:
        settings.worker_id = worker_id
    run_worker(settings)


@cli.command()
@click.option("--events", "count", type=int, default=20_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--malformed", type=float, default=0.0, show_default=True, help="fraction of bad events")
@click.option("--hours", type=float, default=24.0, show_default=True, help="time span ending now")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def generate(count: int, seed: int, malformed: float, hours: float, out: Path) -> None:
    """Write synthetic Astana city-services telemetry as NDJSON."""
    from pipeline.generate import TelemetryGenerator
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        for line in TelemetryGenerator(seed, hours=hours).lines(count, malformed):
            handle.write(line + b"\n")
    click.echo(f"wrote {count} events to {out}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bootstrap", envvar="ANONPIPE_BOOTSTRAP", required=True)
@click.option("--events-per-envelope", type=int, default=1000, show_default=True)
def publish(file: Path, bootstrap: str, events_per_envelope: int) -> None:
    """Publish an NDJSON file to telemetry.raw in envelopes (the pipeline, not the publisher, judges events)."""
    from pipeline.broker import wait_until_ready
    from pipeline.publish import publish_file
    wait_until_ready(bootstrap, timeout=15)
    sent = publish_file(file, bootstrap, max_events=events_per_envelope)
    click.echo(f"published {sent} events")


@cli.command()
@click.option("--events", "count", type=int, default=20_000, show_default=True)
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@_data_dir_option
@click.option("--k", type=int, default=None, help="override the policy's k")
@click.option("--malformed", type=float, default=0.02, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def demo(count, input_file, data_dir, k, malformed, seed) -> None:
    """Embedded broker + worker + synthetic events end to end, then a summary."""
    from pipeline.demo import run_demo
    _configure_logging("text", "WARNING")
    summary = run_demo(data_dir=data_dir, events=count, input_file=input_file, k=k, malformed=malformed, seed=seed)
    click.echo(summary.render())


@cli.command("close-windows")
@click.option("--bootstrap", envvar="ANONPIPE_BOOTSTRAP", required=True)
@click.option("--at", "at", type=click.DateTime(), default=None,
              help="advance the event-time watermark to this UTC time (default: far future = close all)")
def close_windows(bootstrap: str, at) -> None:
    """Advance every partition's watermark so open windows are released (end of a finite run or a backfill)."""
    import datetime as dt

    from pipeline.demo import send_watermark
    moment = at.replace(tzinfo=dt.timezone.utc) if at else dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)
    send_watermark(bootstrap, int(moment.timestamp() * 1000))
    click.echo(f"watermark advanced to {moment.isoformat()} on every partition")


cli.add_command(keys_group)


def _register_optional_commands() -> None:
    """Commands of the lake and extract packages (registered here so `anonpipe --help` lists them all)."""
    from pipeline.extract.cli import extract_command
    from pipeline.lake.cli import LAKE_COMMANDS
    for command in LAKE_COMMANDS:
        cli.add_command(command)
    cli.add_command(extract_command)


def _configure_logging(fmt: str, level: str, secrets=()) -> None:
    from pipeline.observability.logging import configure_logging, register_secret
    configure_logging(fmt, level)
    for secret in secrets:
        if secret:
            register_secret(secret)


def main() -> None:
    """Entry point: known failures become one `anonpipe: error: …` line and exit code 2, not a traceback."""
    from pipeline.common.errors import BrokerError
    from pipeline.demo import DemoError
    from pipeline.keys.ring import KeyRingError
    from pipeline.policy.loader import PolicyError
    from pipeline.worker import StartupError
    # The lake and extract commands import matplotlib, DuckDB and pandas (~150 MB); a worker process needs none.
    if sys.argv[1:2] != ["worker"]:
        _register_optional_commands()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (PolicyError, KeyRingError, BrokerError, StartupError, DemoError) as exc:
        click.echo(f"anonpipe: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()

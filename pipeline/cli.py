"""`anonpipe` command line: broker, worker, generate, publish, demo, keys, lake tools, extract."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from pathlib import Path

import click

from pipeline.extract.cli import extract_command
from pipeline.keys.cli import keys_group
from pipeline.lake.cli import LAKE_COMMANDS
from pipeline.options import (EXISTING_FILE, FILE, bootstrap_option, data_dir_option, events_option, keyring_option,
                              loaded_classes, malformed_option, metrics_port_option, option, policy_option,
                              seed_option)
from pipeline.settings import STAGES

# Start-up time: `anonpipe --help` and `anonpipe query` load only click, this module and the command modules,
# which import what they run (the worker, pandas, DuckDB, matplotlib…) inside the command bodies.

# Failures whose messages are written for the operator: one `anonpipe: error:` line and exit code 2.
KNOWN_ERRORS = (("pipeline.policy.source", "PolicyError"), ("pipeline.keys.ring", "KeyRingError"),
                ("pipeline.common.errors", "BrokerError"), ("pipeline.worker", "StartupError"),
                ("pipeline.demo", "DemoError"))


def _parse_stages(ctx, param, value: str) -> tuple[str, ...]:
    stages = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [stage for stage in stages if stage not in STAGES]
    if unknown or not stages:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'} is not a stage; choose from {', '.join(STAGES)}")
    return stages


@click.group()
@click.version_option(package_name="anonpipe")
def cli() -> None:
    """Telemetry anonymization pipeline: validate → pseudonymize → k-anonymize → Parquet lake → extracts."""


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=9092, show_default=True,
              help="Port to listen on (0: a free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def broker(port: int, host: str) -> None:
    """Run the embedded Kafka-compatible broker (Tansu, in-memory) in the foreground.

    SIGTERM or SIGINT (Ctrl-C) stops the broker and waits for it before exiting 0.
    """
    from pipeline.broker import EmbeddedBroker
    from pipeline.common.errors import BrokerError
    # Handlers first: a signal during start-up must still stop the child (Tansu runs in its own session, so a
    # signal to this process never reaches it on its own).
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with EmbeddedBroker(host=host, port=port) as running:
        click.echo(f"embedded broker ready at {running.bootstrap} (memory storage; Ctrl-C stops it)")
        while not stop.is_set() and running.process.poll() is None:
            stop.wait(0.5)
        if not stop.is_set():
            raise BrokerError(f"Tansu exited with code {running.process.returncode}")
    click.echo("embedded broker stopped")


@cli.command()
@bootstrap_option()
@data_dir_option()
@policy_option()
@option("--lake-url", envvar="ANONPIPE_LAKE_URL", default=None, metavar="URL",
        help="Write the lake zones to an object store (s3://bucket/prefix, gs://…); the DLQ stays in --data-dir.")
@keyring_option(required=False, help="Key ring JSON file (mode 0600), or env:NAME to read it from that "
                                     "environment variable; required unless --demo.")
@option("--partitions", envvar="ANONPIPE_PARTITIONS", type=click.IntRange(min=1), default=4, show_default=True,
        help="Partitions of the topics this worker creates.")
@click.option("--replication-factor", type=click.IntRange(min=1), default=None,
              help="Replication factor of created topics (default: 1 on the embedded broker, else 3).")
@click.option("--embedded", is_flag=True, help="The broker is the embedded Tansu (enables its workarounds).")
@option("--broker-wait", envvar="ANONPIPE_BROKER_WAIT", type=click.FloatRange(min=0), default=60.0,
        show_default=True, help="Seconds to wait for the broker at start-up, retrying with backoff (0: forever).")
@click.option("--demo", is_flag=True, help="Allow an ephemeral key ring (never in production).")
@option("--stages", envvar="ANONPIPE_STAGES", default=",".join(STAGES), show_default=True, callback=_parse_stages,
        help="Stages this worker runs, comma-separated (one consumer group per set of stages).")
@option("--sink-flush-messages", envvar="ANONPIPE_SINK_FLUSH_MESSAGES", type=click.IntRange(min=1), default=200,
        show_default=True, help="A lake sink writes a file after this many messages …")
@option("--sink-flush-seconds", envvar="ANONPIPE_SINK_FLUSH_SECONDS", type=click.FloatRange(min=0.05), default=2.0,
        show_default=True, help="… or after this many seconds.")
@option("--ingest-batch-messages", envvar="ANONPIPE_INGEST_BATCH_MESSAGES", type=click.IntRange(min=1),
        default=5000, show_default=True, help="The ingest stage validates and pseudonymizes up to this many raw "
                                              "messages at once …")
@option("--ingest-batch-wait", envvar="ANONPIPE_INGEST_BATCH_WAIT", type=click.FloatRange(min=0.0), default=0.1,
        show_default=True, help="… waiting at most this many seconds for more once the first arrived.")
@option("--text-pii-process/--no-text-pii-process", envvar="ANONPIPE_TEXT_PII_PROCESS", default=True,
        show_default=True, help="Clean free text partly in a helper process (one more core for the ingest stage; "
                                "its own copy of the text PII engine).")
@option("--web-port", envvar="ANONPIPE_WEB_PORT", type=click.IntRange(min=0), default=0, show_default=True,
        help="Port of faust's web server (0: off).")
@metrics_port_option()
@option("--worker-id", envvar="ANONPIPE_WORKER_ID", default=None,
        help="Name of this worker in logs and metrics (default: $HOSTNAME).")
@option("--log-format", envvar="ANONPIPE_LOG_FORMAT", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help="Log line format (json: one object per line, for log collectors).")
@option("--log-level", envvar="ANONPIPE_LOG_LEVEL", default="INFO", show_default=True,
        help="Python log level: DEBUG, INFO, WARNING, ERROR.")
@option("--security-protocol", envvar="ANONPIPE_SECURITY_PROTOCOL", default="PLAINTEXT", show_default=True,
        help="Kafka security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.")
@option("--sasl-mechanism", envvar="ANONPIPE_SASL_MECHANISM", default=None,
        help="SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.")
@option("--sasl-username", envvar="ANONPIPE_SASL_USERNAME", default=None, help="SASL user name.")
@option("--sasl-password", envvar="ANONPIPE_SASL_PASSWORD", default=None,
        help="SASL password (prefer the environment variable; it is masked in logs).")
@option("--ssl-cafile", envvar="ANONPIPE_SSL_CAFILE", type=FILE, default=None, metavar="FILE",
        help="CA bundle that signs the brokers' certificates.")
def worker(bootstrap, data_dir, policy_path, lake_url, keyring_path, partitions, replication_factor, embedded,
           broker_wait, demo, stages, sink_flush_messages, sink_flush_seconds, ingest_batch_messages,
           ingest_batch_wait, text_pii_process, web_port, metrics_port, worker_id, log_format, log_level, security_protocol,
           sasl_mechanism, sasl_username, sasl_password, ssl_cafile) -> None:
    """Run a pipeline worker (all stages unless --stages; scale out by starting more with the same stages)."""
    from pipeline.settings import KafkaSettings, WorkerSettings
    from pipeline.worker import run_worker
    _configure_logging(log_format, log_level, secrets=[sasl_password])
    settings = WorkerSettings(
        kafka=KafkaSettings(bootstrap=bootstrap, security_protocol=security_protocol, sasl_mechanism=sasl_mechanism,
                            sasl_username=sasl_username, sasl_password=sasl_password,
                            ssl_cafile=str(ssl_cafile) if ssl_cafile else None,
                            partitions=partitions, replication=replication_factor, embedded=embedded),
        data_dir=data_dir, lake_url=lake_url, policy_path=_text(policy_path), keyring_path=_text(keyring_path),
        demo=demo, web_port=web_port, metrics_port=metrics_port, log_format=log_format, log_level=log_level,
        broker_wait=broker_wait, stages=stages, sink_flush_messages=sink_flush_messages,
        sink_flush_seconds=sink_flush_seconds,
        ingest_batch_messages=ingest_batch_messages, ingest_batch_wait=ingest_batch_wait,
        text_pii_process=text_pii_process)
    if worker_id:
        settings.worker_id = worker_id
    run_worker(settings)


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None


@cli.command()
@events_option()
@seed_option()
@malformed_option()
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=24.0, show_default=True,
              help="Time span of the events, ending now.")
@click.option("--out", type=FILE, required=True, metavar="FILE", help="NDJSON file to write.")
def generate(count: int, seed: int, malformed: float, hours: float, out: Path) -> None:
    """Write synthetic Astana city-services telemetry as NDJSON."""
    from pipeline.generate import TelemetryGenerator
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        for line in TelemetryGenerator(seed, hours=hours).lines(count, malformed):
            handle.write(line + b"\n")
    click.echo(f"wrote {count} events to {out}")


@cli.command()
@click.argument("file", type=EXISTING_FILE)
@bootstrap_option()
@click.option("--events-per-envelope", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Events per message on telemetry.raw (a producer's batch).")
def publish(file: Path, bootstrap: str, events_per_envelope: int) -> None:
    """Publish an NDJSON file to telemetry.raw in envelopes (the pipeline, not the publisher, judges events)."""
    from pipeline.broker import wait_until_ready
    from pipeline.publish import publish_file
    wait_until_ready(bootstrap, timeout=15)
    sent = publish_file(file, bootstrap, max_events=events_per_envelope)
    click.echo(f"published {sent} events")


@cli.command()
@events_option()
@click.option("--input", "input_file", type=EXISTING_FILE, default=None, metavar="FILE",
              help="Publish this NDJSON file instead of synthetic events.")
@data_dir_option()
@click.option("--k", type=click.IntRange(min=2), default=None, help="Override the policy's k.")
@click.option("--release", type=click.Choice(["k_anonymity", "dp", "both"]), default=None,
              help="Override the policy's kanon.release (docs/dp.md).")
@malformed_option()
@seed_option()
def demo(count, input_file, data_dir, k, release, malformed, seed) -> None:
    """Embedded broker + worker + synthetic events end to end, then a summary and the next steps."""
    from pipeline.demo import run_demo
    _configure_logging("text", "WARNING")
    summary = run_demo(data_dir=data_dir, events=count, input_file=input_file, k=k, malformed=malformed, seed=seed,
                       release=release)
    click.echo(summary.render())


@cli.command("close-windows")
@bootstrap_option()
@click.option("--at", "at", type=click.DateTime(), default=None,
              help="Advance the event-time watermark to this UTC time (default: far future = close all).")
def close_windows(bootstrap: str, at) -> None:
    """Advance every partition's watermark so open windows are released (end of a finite run or a backfill)."""
    from pipeline.demo import send_watermark
    moment = at.replace(tzinfo=dt.timezone.utc) if at else dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)
    send_watermark(bootstrap, int(moment.timestamp() * 1000))
    click.echo(f"watermark advanced to {moment.isoformat()} on every partition")


cli.add_command(keys_group)
for _command in LAKE_COMMANDS:
    cli.add_command(_command)
cli.add_command(extract_command)


def _configure_logging(fmt: str, level: str, secrets=()) -> None:
    from pipeline.observability.logging import configure_logging, register_secret
    configure_logging(fmt, level)
    for secret in secrets:
        if secret:
            register_secret(secret)


def main() -> None:
    """Entry point: known failures become one `anonpipe: error: …` line and exit code 2, not a traceback."""
    try:
        cli.main(prog_name="anonpipe", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if not isinstance(exc, loaded_classes(KNOWN_ERRORS)):
            raise
        click.echo(f"anonpipe: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

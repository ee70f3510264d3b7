"""Build the worker image and run it for real: broker and workers in containers, events in, lake checked, all stopped."""

# Driven by `make image-test` (deploy/image-test.sh checks root and installs podman, runc and debootstrap first).
# Everything runs on the host network and loopback addresses only; every container is stopped by its id.
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
BASE_IMAGE = "localhost/local/debian:bookworm-slim"
IMAGE = "localhost/anonpipe:image-test"
WORKER_UID = 10001
# podman on this machine: crun refuses the hybrid cgroup layout, and podman's default ulimits exceed the hard ones.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"]
# Where TLS to the package registries is intercepted, pip in the build needs the host's CA bundle (a build secret).
HOST_CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))


def say(message: str) -> None:
    print(f"[image-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*PODMAN, *args], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and result.returncode != 0:
        sys.exit(f"podman {args[0]} failed ({result.returncode}): {result.stdout.strip()[-2000:]}")
    return result


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def ensure_debian_base() -> None:
    """A local bookworm base image (no registry is reachable here): debootstrap minbase, imported into podman."""
    if image_exists(BASE_IMAGE):
        say(f"base image {BASE_IMAGE} present")
        return
    rootfs = Path(tempfile.mkdtemp(prefix="anonpipe-rootfs-", dir="/var/tmp"))
    try:
        say("debootstrap --variant=minbase bookworm (about a minute)")
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs)], check=True,
                       stdout=subprocess.DEVNULL)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run([*PODMAN, "import", "-", BASE_IMAGE], stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        tar.wait()
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def build_image() -> float:
    started = time.monotonic()
    args = ["build", "--format", "docker", "--network=host", *ULIMITS,
            "--ignorefile", "deploy/Dockerfile.dockerignore", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
            "-f", "deploy/Dockerfile", "-t", IMAGE]
    if HOST_CA_BUNDLE.is_file():
        args += ["--secret", f"id=pip_ca,src={HOST_CA_BUNDLE}"]
    result = subprocess.run([*PODMAN, *args, "."], cwd=REPO, text=True, capture_output=True)
    if result.returncode != 0:
        sys.exit(f"image build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return time.monotonic() - started


def image_size_mb() -> float:
    size = podman("image", "inspect", IMAGE, "--format", "{{.Size}}").stdout.strip()
    return int(size) / 1e6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, poll: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    sys.exit(f"timed out after {timeout:.0f} s waiting for {what}")


def run_container(name: str, *args: str) -> str:
    return podman("run", "-d", "--name", name, "--network=host", *ULIMITS, *args).stdout.strip().splitlines()[-1]


def hardened(*tmpfs_dirs: str) -> list[str]:
    """The same hardening as compose and Kubernetes: read-only root, no capabilities, no privilege gain."""
    flags = ["--read-only", "--cap-drop=ALL", "--security-opt", "no-new-privileges", "--tmpfs", "/tmp"]
    for directory in tmpfs_dirs:
        # `U` chowns the tmpfs to the image's user (podman 4.3 has no uid= option for tmpfs).
        flags += ["--tmpfs", f"{directory}:rw,U,mode=0700"]
    return flags


def healthy(container: str) -> bool:
    return podman("healthcheck", "run", container, check=False).returncode == 0


def make_keyring(workdir: Path) -> Path:
    """A key ring covering the generated events' epochs, 0600 and owned by the image's user, mounted read-only."""
    keyring = workdir / "keyring.json"
    anonpipe = [sys.executable, "-m", "pipeline.cli"]
    now = dt.datetime.now(dt.timezone.utc)
    months = sorted({(now - dt.timedelta(days=2)).strftime("%Y-%m-15"), now.strftime("%Y-%m-15")})
    for month in months:
        subprocess.run([*anonpipe, "keys", "new", "--keyring", str(keyring), "--period", "monthly", "--at", month],
                       check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    os.chown(keyring, WORKER_UID, WORKER_UID)
    os.chmod(keyring, 0o600)
    return keyring


def publish(bootstrap: str, events_file: Path, mode: str, envelope_size: int) -> int:
    """Publish as an app backend would, with confluent-kafka: one event per message, or NDJSON envelopes."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False, "linger.ms": 20,
                         "queue.buffering.max.messages": 200_000})
    lines = [line for line in events_file.read_bytes().splitlines() if line.strip()]
    chunks = [[line] for line in lines] if mode == "event" else \
        [lines[i:i + envelope_size] for i in range(0, len(lines), envelope_size)]
    for chunk in chunks:
        while True:
            try:
                producer.produce("telemetry.raw", value=b"\n".join(chunk))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining:
        sys.exit(f"{remaining} messages not delivered")
    return len(lines)


def lake_counts(lake: Path) -> dict:
    """Counts read from the host with DuckDB, independently of the pipeline's own readers."""
    counts = {"pseudonymized": 0, "distinct_events": 0, "aggregates": 0, "dlq": 0, "dlq_lines": 0}
    con = duckdb.connect()
    pseudonymized = lake / "lake" / "pseudonymized"
    if any(pseudonymized.rglob("*.parquet")):
        pattern = f"{pseudonymized}/**/*.parquet"
        columns = [row[0] for row in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{pattern}', hive_partitioning=true)").fetchall()]
        identity = "event_id" if "event_id" in columns else "*"
        counts["pseudonymized"], counts["distinct_events"] = con.execute(
            f"SELECT count(*), count(DISTINCT {identity}) FROM read_parquet('{pattern}', hive_partitioning=true)"
            if identity != "*" else
            f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT * FROM read_parquet('{pattern}'))) "
            f"FROM read_parquet('{pattern}')").fetchone()
    aggregates = lake / "lake" / "aggregates"
    if any(aggregates.rglob("*.parquet")):
        counts["aggregates"] = con.execute(
            f"SELECT count(*) FROM read_parquet('{aggregates}/**/*.parquet', hive_partitioning=true)").fetchone()[0]
    # The DLQ is at-least-once: a rebalance can write a reject again in another file. Its source position
    # (partition, offset, index) and raw text identify it, so distinct rejects are what must add up.
    lines = [json.loads(line) for path in (lake / "dlq").rglob("*.ndjson")
             for line in path.read_text().splitlines() if line.strip()] if (lake / "dlq").exists() else []
    counts["dlq_lines"] = len(lines)
    counts["dlq"] = len({(json.dumps(entry.get("source"), sort_keys=True), entry.get("raw")) for entry in lines})
    return counts


COMPOSE_PROJECT = "anonpipe-it"
COMPOSE_BOOTSTRAP = "127.0.0.1:29092"  # deploy/docker-compose.embedded.yml


def compose_environment(workdir: Path) -> dict:
    """podman-compose passes no global podman flags: runc, cgroupfs and the ulimits come from a containers.conf."""
    conf = workdir / "containers.conf"
    conf.write_text('[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n\n'
                    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]\n')
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def compose_command() -> list[str]:
    return [shutil.which("podman-compose") or str(Path(sys.executable).with_name("podman-compose")),
            "-p", COMPOSE_PROJECT, "-f", "docker-compose.yml", "-f", "docker-compose.embedded.yml"]


def compose(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*compose_command(), *args], cwd=REPO / "deploy", env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and result.returncode != 0:
        sys.exit(f"podman-compose {args[0]} failed ({result.returncode}): {result.stdout.strip()[-3000:]}")
    return result


def compose_containers(service: str) -> list[str]:
    return podman("ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={COMPOSE_PROJECT}",
                  "--filter", f"label=com.docker.compose.service={service}").stdout.split()


def run_compose(workdir: Path, keyring: Path, events_file: Path, args) -> bool:
    """The compose file itself, with the embedded-broker override: up, publish, check the lake volume, down."""
    podman("tag", IMAGE, "localhost/anonpipe:0.1.0")
    secrets = REPO / "deploy" / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    shutil.copy2(keyring, secrets / "keyring.json")
    os.chown(secrets / "keyring.json", WORKER_UID, WORKER_UID)
    env = compose_environment(workdir)
    ok = False
    try:
        started = time.monotonic()
        # podman 4.3's `podman wait` never reports an exited job as "stopped" nor a running one as "running", and
        # health states are updated by systemd timers this machine lacks: podman-compose would wait on the
        # file's depends_on conditions forever. So the services start in the file's dependency order from here.
        compose(env, "up", "-d", "--no-build", "--no-deps", "kafka")
        (broker,) = compose_containers("kafka")
        wait_for(lambda: healthy(broker), 60, "compose kafka (embedded broker) to become healthy")
        compose(env, "up", "-d", "--no-build", "--no-deps", "topics")
        (topics,) = compose_containers("topics")
        wait_for(lambda: podman("inspect", topics, "--format", "{{.State.Status}}").stdout.strip() == "exited",
                 120, "the compose topic job to finish")
        topics_exit = podman("inspect", topics, "--format", "{{.State.ExitCode}}").stdout.strip()
        if topics_exit != "0":
            sys.exit(f"compose topic job failed (exit {topics_exit}): {podman('logs', topics).stdout[-2000:]}")
        compose(env, "up", "-d", "--no-build", "--no-deps", "worker", "maintain")
        workers = compose_containers("worker")
        say(f"compose up: {len(workers)} worker containers, broker, topics job, maintain")
        for container in workers:
            wait_for(lambda: healthy(container), 180, f"compose worker {container[:12]} to become healthy", poll=2.0)
        say(f"compose workers healthy {time.monotonic() - started:.1f} s after `up`")
        events_in = publish(COMPOSE_BOOTSTRAP, events_file, args.messages, args.envelope_size)
        lake = Path(podman("volume", "inspect", f"{COMPOSE_PROJECT}_lake", "--format", "{{.Mountpoint}}")
                    .stdout.strip())
        wait_for(lambda: _accounted(lake, events_in), args.timeout, "compose: every event in the lake or the DLQ",
                 poll=2.0)
        subprocess.run([sys.executable, "-m", "pipeline.cli", "close-windows", "--bootstrap", COMPOSE_BOOTSTRAP],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        ok = lake_complete(lake, events_in, "compose: ")
    finally:
        if not ok:
            for service in ("worker", "kafka", "topics", "maintain"):
                for container in compose_containers(service):
                    say(f"last log lines of {service} {container[:12]}:\n"
                        f"{podman('logs', '--tail', '25', container, check=False).stdout}")
        ids = podman("ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={COMPOSE_PROJECT}",
                     check=False).stdout.split()
        compose(env, "down", "-v", "-t", "60", check=False)
        left = podman("ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={COMPOSE_PROJECT}",
                      check=False).stdout.split()
        say(f"compose down: {len(ids)} containers stopped and removed, {len(left)} left")
        shutil.rmtree(secrets, ignore_errors=True)
    return ok


def wait_for_aggregates(lake: Path, what: str) -> None:
    """Aggregates and window stats land through their own topics and sinks: wait until the count holds still."""
    seen: list[int] = []

    def settled() -> bool:
        seen.append(lake_counts(lake)["aggregates"])
        return len(seen) >= 3 and seen[-1] > 0 and seen[-1] == seen[-2] == seen[-3]

    wait_for(settled, 180, what, poll=3.0)


def lake_complete(lake: Path, events_in: int, label: str = "") -> bool:
    """Once aggregates settle: every valid event landed once, the rest are distinct DLQ rejects, aggregates exist."""
    wait_for_aggregates(lake, f"{label}aggregates in the lake")
    counts = lake_counts(lake)
    say(f"{label}events in {events_in}; pseudonymized rows {counts['pseudonymized']} "
        f"(distinct {counts['distinct_events']}); DLQ {counts['dlq']} rejects in {counts['dlq_lines']} lines; "
        f"aggregate rows {counts['aggregates']}")
    return (counts["pseudonymized"] == counts["distinct_events"]
            and counts["pseudonymized"] + counts["dlq"] == events_in and counts["aggregates"] > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--malformed", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--messages", choices=["event", "envelope"], default="event",
                        help="one event per message (as app backends publish) or NDJSON envelopes")
    parser.add_argument("--envelope-size", type=int, default=500)
    parser.add_argument("--skip-build", action="store_true", help="reuse the image built by an earlier run")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--compose", action="store_true",
                        help="also run deploy/docker-compose.yml with the embedded-broker override (podman-compose)")
    args = parser.parse_args()

    ensure_debian_base()
    if not (args.skip_build and image_exists(IMAGE)):
        say(f"building {IMAGE} from {BASE_IMAGE}")
        say(f"built in {build_image():.0f} s")
    say(f"image size {image_size_mb():.0f} MB")

    workdir = Path(tempfile.mkdtemp(prefix="anonpipe-image-test-", dir="/var/tmp"))
    lake = workdir / "data"
    lake.mkdir(mode=0o750)
    os.chown(lake, WORKER_UID, WORKER_UID)
    keyring = make_keyring(workdir)
    events_file = workdir / "events.ndjson"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "generate", "--events", str(args.events),
                    "--malformed", str(args.malformed), "--out", str(events_file)], check=True, cwd=REPO)
    containers: list[tuple[str, str]] = []
    ok = False
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    try:
        broker = run_container(f"anonpipe-it-broker-{port}", *hardened(), "--entrypoint", "anonpipe", IMAGE,
                               "broker", "--host", "127.0.0.1", "--port", str(port))
        containers.append(("broker", broker))
        wait_for(lambda: _connects(port), 60, "the broker container to listen")
        say(f"broker container {broker[:12]} listening on {bootstrap}")
        started = time.monotonic()
        for index in range(args.workers):
            worker = run_container(
                f"anonpipe-it-worker{index}-{port}", *hardened("/var/lib/anonpipe"),
                "-v", f"{keyring}:/run/secrets/keyring.json:ro", "-v", f"{lake}:/data",
                "-e", f"ANONPIPE_BOOTSTRAP={bootstrap}", "-e", "ANONPIPE_KEYRING=/run/secrets/keyring.json",
                "-e", f"ANONPIPE_METRICS_PORT={free_port()}", "-e", f"ANONPIPE_WEB_PORT={free_port()}",
                "-e", "ANONPIPE_PARTITIONS=4", "-e", f"ANONPIPE_WORKER_ID=image-test-{index}",
                IMAGE, "--embedded")
            containers.append((f"worker{index}", worker))
        for name, container in containers[1:]:
            wait_for(lambda: healthy(container), 180, f"{name} to become healthy", poll=2.0)
            say(f"{name} container {container[:12]} healthy {time.monotonic() - started:.1f} s after start")
        published_at = time.monotonic()
        events_in = publish(bootstrap, events_file, args.messages, args.envelope_size)
        say(f"published {events_in} events ({args.messages} per message) with confluent-kafka "
            f"in {time.monotonic() - published_at:.1f} s")
        wait_for(lambda: _accounted(lake, events_in), args.timeout, "every event in the lake or the DLQ", poll=2.0)
        say(f"every event accounted for {time.monotonic() - published_at:.1f} s after publishing began")
        closer = podman("run", "--rm", "--network=host", *ULIMITS, *hardened(), "--entrypoint", "anonpipe", IMAGE,
                        "close-windows", "--bootstrap", bootstrap)
        say(f"close-windows: {closer.stdout.strip().splitlines()[-1] if closer.stdout.strip() else 'done'}")
        ok = lake_complete(lake, events_in)
    finally:
        for name, container in reversed(containers):
            if not ok:
                logs = podman("logs", "--tail", "25", container, check=False).stdout
                say(f"last log lines of {name}:\n{logs}")
            podman("stop", "-t", "60", container, check=False)
            code = podman("inspect", container, "--format", "{{.State.ExitCode}}", check=False).stdout.strip()
            podman("rm", "-f", container, check=False)
            say(f"stopped {name} {container[:12]} (exit code {code}), removed")
    say("PASS: every valid event landed once, the rest in the DLQ, aggregates exist" if ok else "FAIL")
    if ok and args.compose:
        ok = run_compose(workdir, keyring, events_file, args)
        say("PASS (compose)" if ok else "FAIL (compose)")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _accounted(lake: Path, events_in: int) -> bool:
    counts = lake_counts(lake)
    return counts["pseudonymized"] + counts["dlq"] >= events_in


if __name__ == "__main__":
    sys.exit(main())

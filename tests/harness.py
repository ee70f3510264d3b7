"""Test harness: key rings on disk and a real pipeline run (embedded broker + worker processes)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.keys.ring import KeyRing

# Fixed generation time: tests are reproducible, and every event lies inside the validator's 30-day window.
GENERATED_UNTIL = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)


def make_keyring(path: Path, around: dt.datetime = GENERATED_UNTIL, period: str = "monthly") -> KeyRing:
    """A 0600 key ring with keys for the epoch containing `around`, the one before and the one after."""
    from pipeline.keys.ring import epoch_bounds
    start, _ = epoch_bounds(period, around)
    ring = KeyRing([])
    ring, _ = ring.with_new_key(period, start - dt.timedelta(seconds=1))
    ring, _ = ring.with_new_key(period, start)
    ring, _ = ring.with_new_key(period)
    ring.save(path)
    return ring


def traceable_policy(folder: Path) -> Path:
    """The default policy, except that the raw event id is kept: reliability tests follow each input event into
    the lake (exactly once). Production keeps only its HMAC (pipeline/policy/default.yaml)."""
    from importlib.resources import files
    text = files("pipeline.policy").joinpath("default.yaml").read_text(encoding="utf-8")
    kept = re.sub(r"(?m)^  event_id: .*$", "  event_id:     {operator: keep}", text)
    assert kept != text, "default policy no longer has the event_id line this helper rewrites"
    path = folder / "traceable-policy.yaml"
    path.write_text(kept, encoding="utf-8")
    return path


@dataclass
class PipelineRun:
    """One end-to-end run: broker, N worker processes, published input, drained outputs."""

    root: Path
    keyring: Path | None
    partitions: int = 4
    policy: Path | None = None
    data_dir: Path = field(init=False)
    broker: object = None
    workers: list = field(default_factory=list)

    def __post_init__(self):
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.policy is None:
            self.policy = traceable_policy(self.root)

    def start(self, workers: int = 1) -> "PipelineRun":
        from pipeline.broker import EmbeddedBroker
        from pipeline.topics import ensure_topics
        self.broker = EmbeddedBroker(log_path=self.root / "broker.log").start()
        ensure_topics(self.broker.bootstrap, self.partitions)
        for i in range(workers):
            self.add_worker(f"w{i + 1}")
        return self

    def add_worker(self, worker_id: str, extra_args: tuple[str, ...] = ()):
        from pipeline.demo import start_worker
        proc = start_worker(self.broker.bootstrap, self.data_dir, policy=self.policy, keyring=self.keyring,
                            partitions=self.partitions, worker_id=worker_id, extra_args=extra_args)
        self.workers.append(proc)
        return proc

    def publish(self, lines: list[bytes], **options) -> int:
        from pipeline.publish import publish_lines
        return publish_lines(lines, self.broker.bootstrap, progress=False, **options)

    def wait_landed(self, expected: int, timeout: float = 120.0) -> None:
        from pipeline.demo import accounted, wait_for
        alive = [w for w in self.workers if w.poll() is None]
        wait_for(lambda: accounted(self.data_dir, expected), timeout, "events to land",
                 alive[0] if len(alive) == 1 else None)

    def close_windows(self, timeout: float = 90.0) -> None:
        from pipeline.demo import send_watermark, wait_for, windows_released
        far = int((dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)).timestamp() * 1000)
        send_watermark(self.broker.bootstrap, far)
        wait_for(lambda: windows_released(self.data_dir, self.partitions), timeout, "windows to be released")

    def stop(self) -> None:
        from pipeline.demo import stop_process
        for proc in self.workers:
            stop_process(proc)
        if self.broker is not None:
            self.broker.stop()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.data_dir / "logs").glob("*.log"))

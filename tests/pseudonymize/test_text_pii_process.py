"""Text PII in a helper process (pipeline/text_pii/offload.py) changes no output: the same rows, rejects and DLQ
bytes as the kernel alone, whichever chunks the helper or the worker cleaned, and also when the helper fails. The
helper does not outlive a killed worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Future

import pytest
from harness import GENERATED_UNTIL

from pipeline.generate import TelemetryGenerator
from pipeline.operators.text_pii import TEXT_ENGINE, TEXT_PROCESS
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.batch import BatchIngest, RawMessage
from pipeline.text_pii.offload import TextPiiProcess, clean_texts


@pytest.fixture(scope="module")
def batches() -> list[list[RawMessage]]:
    """One event per message with 5 % malformed, over 3 partitions, in batches of 400 (many texts per batch)."""
    lines = [line for line, _ in TelemetryGenerator(13, end=GENERATED_UNTIL, hours=4).labelled_lines(1600, 0.05)]
    messages = [RawMessage(i % 3, i // 3, line) for i, line in enumerate(lines)]
    return [messages[i:i + 400] for i in range(0, len(messages), 400)]


@pytest.fixture(scope="module")
def engine():
    from pipeline.text_pii.engine import TextPiiEngine
    return TextPiiEngine.from_config()


def outputs(policy, ring, batches, services: dict) -> list:
    policy = load_policy()  # operators of their own: caches empty, so every text is new
    runner = BatchIngest(policy, ring, "inc", 4, "telemetry.raw", services=services)
    result = []
    for batch in batches:
        out = runner.run(batch)
        result.append(([(m.batch_id, m.partition, m.payload) for m in out.pseudonymized],
                       [(m.batch_id, m.payload) for m in out.dlq], [(r.code, r.raw, r.source) for r in out.rejects]))
    return result


class FakeHelper:
    """A helper without a process: its futures are never started (the worker takes every chunk back), already
    done with the in-process engine's results, or failed."""

    def __init__(self, mode: str, engine):
        self.mode, self.engine, self.chunks = mode, engine, 0

    def submit(self, texts, actions, secret, language, chunk=5):
        out = []
        for i in range(0, len(texts), chunk):
            part, future = texts[i:i + chunk], Future()
            if self.mode == "done":
                future.set_running_or_notify_cancel()
                import pipeline.text_pii.offload as offload
                offload._ENGINE = self.engine  # what the helper process runs, here in process
                future.set_result(clean_texts(part, actions, secret, language))
            elif self.mode == "failed":
                future.set_running_or_notify_cancel()
                future.set_exception(BrokenPipeError("helper gone"))
            out.append((part, future))
            self.chunks += 1
        return out


def test_the_helper_process_changes_no_output(policy, ring, batches, engine):
    reference = outputs(policy, ring, batches, {TEXT_ENGINE: engine})
    helper = TextPiiProcess()
    asked = []
    submit = helper.submit
    helper.submit = lambda texts, *args: asked.append(len(texts)) or submit(texts, *args)
    try:
        assert outputs(policy, ring, batches, {TEXT_ENGINE: engine, TEXT_PROCESS: helper}) == reference
    finally:
        helper.close()
    assert sum(asked) > 100
    assert any(rows for rows, _, _ in reference) and any(dlq for _, dlq, _ in reference)


@pytest.mark.parametrize("mode", ["pending", "done", "failed"])
def test_chunks_taken_back_done_or_failed_give_the_same_output(policy, ring, batches, engine, mode):
    reference = outputs(policy, ring, batches, {TEXT_ENGINE: engine})
    helper = FakeHelper(mode, engine)
    assert outputs(policy, ring, batches, {TEXT_ENGINE: engine, TEXT_PROCESS: helper}) == reference
    assert helper.chunks > 20  # the helper was asked, in chunks


def test_the_helper_ends_with_a_killed_worker(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent("""
        import time
        from pipeline.text_pii.offload import TextPiiProcess
        if __name__ == "__main__":
            helper = TextPiiProcess()
            helper._pool.submit(print, "ready", flush=True).result()
            time.sleep(600)
    """))
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert worker.stdout.readline().strip() == "ready"
        helpers = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
        assert helpers
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    deadline = time.monotonic() + 10
    while any(_alive(int(pid)) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(int(pid)) for pid in helpers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False

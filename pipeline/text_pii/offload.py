"""Text PII cleaning in a helper process: the kernel hands a batch's new texts over first and computes the other
columns while the helper analyzes them on another core.

The helper runs the same TextPiiEngine.anonymize_batch with the same keyed-pseudonym function, so its results are
the in-process results. Whatever goes wrong with it (it died, it could not start) the caller computes in process:
the helper changes when a text is cleaned, never how.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Mapping

log = logging.getLogger(__name__)

_ENGINE = None  # the helper process's engine
# Texts per request: small enough that the worker can take the last chunks back while the helper does the first.
CHUNK_TEXTS = 32
PARENT_CHECK_SECONDS = 0.5


def _start_engine(use_ner: bool) -> None:
    global _ENGINE
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    from pipeline.text_pii.engine import TextPiiEngine
    _ENGINE = TextPiiEngine.from_config(use_ner=use_ner)


def _exit_with_parent(parent: int) -> None:
    """The helper ends when the worker does, however it ended (kill -9 included): an orphan would hold its
    memory and a key secret for nothing."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _ready() -> bool:
    return _ENGINE is not None


def clean_texts(texts: list[str], actions: Mapping[str, str], secret: bytes, language: str) -> list[str | None]:
    """What TextPii.apply computes for texts missing from its cache (module level: called in the helper)."""
    from pipeline.keys.pseudonym import pseudonym

    def token(entity_type: str, value: str) -> str:
        return pseudonym(secret, "text:" + entity_type, value, 12)  # the engine wraps it as <TYPE:token>
    return _ENGINE.anonymize_batch(texts, actions=actions, pseudonymize=token, language=language)


class TextPiiProcess:
    """One helper process with its own engine, started when this object is made (the engine loads meanwhile).

    Spawned, not forked: the worker runs threads (faust, the metrics server) that a fork would copy mid-step. The
    key secret of the batch's epoch goes to the helper with each request, over the pipe to this process's own
    child; it is never written anywhere.
    """

    def __init__(self, use_ner: bool = False):
        self.use_ner = use_ner
        self._pool: ProcessPoolExecutor | None = None
        self._start()

    def _start(self) -> None:
        try:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_engine, initargs=(self.use_ner,))
            self._pool.submit(_ready)  # starts the process and loads the engine now, not in the first batch
        except Exception as exc:  # noqa: BLE001 - no helper: the operator cleans texts in process
            log.warning("text PII helper process not started (%s); texts are cleaned in the worker itself",
                        type(exc).__name__)
            self._pool = None

    def submit(self, texts: list[str], actions: Mapping[str, str], secret: bytes, language: str,
               chunk: int = CHUNK_TEXTS) -> list[tuple[list[str], Future]] | None:
        """`texts` in chunks, each with the helper's future results, or None when there is no helper (clean them
        in process). The caller may take chunks the helper has not started back (Future.cancel) and clean them
        itself: both cores work on one batch's texts."""
        if self._pool is None:
            return None
        actions = dict(actions)
        try:
            return [(texts[i:i + chunk], self._pool.submit(clean_texts, texts[i:i + chunk], actions, secret, language))
                    for i in range(0, len(texts), chunk)]
        except Exception as exc:  # noqa: BLE001 - a broken pool: start another for the next batches
            log.warning("text PII helper process unavailable (%s); restarting it", type(exc).__name__)
            self.close()
            self._start()
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

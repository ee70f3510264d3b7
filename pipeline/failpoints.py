"""Fault injection for crash tests: `ANONPIPE_FAILPOINT=name:N` SIGKILLs the process at the N-th hit of `name`."""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    """No-op unless the environment arms this failpoint (tests only; never set in production)."""
    armed = os.environ.get("ANONPIPE_FAILPOINT")
    if not armed:
        return
    target, _, count = armed.partition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)  # a real crash: no cleanup, no flush, no offset commit

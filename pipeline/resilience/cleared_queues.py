"""Workaround for a faust stop/revoke wait that never ends: forget messages faust itself dropped from agent queues."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def forget_cleared_messages(app) -> None:
    """Let faust's shutdown and rebalance wait only for messages an agent can still acknowledge (faust 0.15.3).

    On SIGTERM (and when partitions are revoked) faust suspends the flow, empties every agent's queue
    (`flow_control.clear()`) and then waits until no message it tracks is unacknowledged (`Consumer.wait_empty`, no
    timeout while stopping). A message two agents read (the pseudonymized topic: k-anonymity and the lake sink) is
    tracked as soon as the first takes it; if the second still had it queued, the clear drops it unacknowledged, and
    the first agent's loop variable keeps it alive in faust's weak set of unacknowledged messages. The wait then
    lasts until the shutdown watchdog ends the process after 20 s (seen in test_reliability_crash's SIGTERM run).

    Such a message is forgotten, never acknowledged: its offset and every later one of its partition stay
    uncommitted (they are unacknowledged too, queued behind it), so the next owner reads them again and the sinks
    and the k-anonymity state drop what they already hold by source position.
    """
    flow = app.flow_control
    clear = flow.clear

    def clear_and_forget() -> None:
        consumer = app._consumer  # faust keeps no public accessor that does not create the consumer
        unacked = getattr(consumer, "_unacked_messages", None)
        forgotten = 0
        if unacked is not None:
            for queue in list(flow._queues):
                for item in list(getattr(queue, "_queue", ())):
                    message = getattr(item, "message", None)
                    if message is not None and not message.acked and message in unacked:
                        unacked.discard(message)
                        forgotten += 1
        clear()
        if forgotten:
            log.info("%d queued message(s) left unacknowledged for the next reader", forgotten)

    flow.clear = clear_and_forget

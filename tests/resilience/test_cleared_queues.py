"""faust's stop, revoke and end of recovery empty the agent queues: a message dropped there must not hold up the
consumer's wait for acknowledgements (the 20 s SIGTERM stall), and must not be acknowledged (its offset is read again).
Real faust objects, no broker: the app's consumer is created but never connects."""

from __future__ import annotations

import faust
from faust.events import Event
from faust.types.tuples import Message
from mode.utils.queues import FlowControlQueue

from pipeline.resilience.cleared_queues import forget_cleared_messages


def queued_message_taken_by_one_of_two_agents(patched: bool):
    app = faust.App("test-cleared-queues", broker="kafka://127.0.0.1:9")
    if patched:
        forget_cleared_messages(app)
    consumer = app.consumer
    queue = FlowControlQueue(maxsize=10, flow_control=app.flow_control, clear_on_resume=True)
    message = Message("telemetry.pseudonymized", 1, 51, 0.0, 0, None, b"k", b"v", None)
    message.incref()  # delivered to two agents' queues ...
    message.incref()
    consumer._unacked_messages.add(message)  # ... the first took it (faust tracks it then) and acknowledged it
    message.decref()
    event = Event(app, b"k", b"v", None, message)  # the first agent's loop variable keeps it alive
    queue.put_nowait(event)  # the second agent still has it queued
    return app, consumer, message, queue, event


def test_a_message_dropped_from_a_queue_is_not_waited_for_and_not_acknowledged():
    app, consumer, message, queue, _event = queued_message_taken_by_one_of_two_agents(patched=True)
    app.flow_control.suspend()
    app.flow_control.clear()  # what faust's App._stop_consumer and on_partitions_revoked do
    assert queue.qsize() == 0
    assert message not in consumer._unacked_messages
    assert not message.acked


def test_the_end_of_a_recovery_clears_through_the_same_path():
    app, consumer, message, _queue, _event = queued_message_taken_by_one_of_two_agents(patched=True)
    app.flow_control.resume()  # Recovery.on_recovery_completed: mode clears the queues inside resume()
    assert message not in consumer._unacked_messages and not message.acked


def test_unpatched_faust_keeps_waiting_for_it():
    """The stall this module removes (fails if a faust upgrade fixes it: then the workaround can go)."""
    app, consumer, message, _queue, _event = queued_message_taken_by_one_of_two_agents(patched=False)
    app.flow_control.suspend()
    app.flow_control.clear()
    assert message in consumer._unacked_messages and not message.acked

"""Errors more than one module raises or catches (the embedded broker and the start-up wait share BrokerError)."""


class BrokerError(RuntimeError):
    """The Kafka broker (embedded or remote) could not be found, started or reached."""

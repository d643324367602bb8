"""`signal_spy`: records what custom signals send, for tests of the services that send them."""

import pytest


class SignalSpy:
    def __init__(self):
        self.sent: list[tuple[str, dict]] = []
        self._connected = []

    def watch(self, *signals_by_name) -> "SignalSpy":
        """watch(("post_created", post_created), ...): record each send as (name, kwargs without signal/sender)."""
        for name, signal in signals_by_name:

            def record(sender, signal, _name=name, **kwargs):
                self.sent.append((_name, kwargs))

            signal.connect(record, weak=False)
            self._connected.append((signal, record))
        return self

    def disconnect(self) -> None:
        for signal, record in self._connected:
            signal.disconnect(record)


@pytest.fixture
def signal_spy():
    spy = SignalSpy()
    yield spy
    spy.disconnect()

"""torch's FakeTensor log stays off while attncost runs a model on FakeTensors: an op that fails there
(Swin's pad to a multiple of the window, on symbolic sizes) is reported once by attncost, in one line,
not first by torch as an ERROR line with a traceback on the user's terminal."""

import logging

import pytest

from attncost import catalogue
from attncost.reference import build
from attncost.trace.fake_log import quiet_fake_tensor_log
from attncost.trace.symbolic import trace_symbolic


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_failing_symbolic_trace_logs_nothing():
    """torch's logger writes to the stderr it found at import (its own handler, no propagation), so
    the test listens on that logger itself."""
    shape = (2, 48, 14, 14)
    hp = catalogue.get("swin-wmsa").resolve(shape, {})
    records = _Records()
    log = logging.getLogger("torch._subclasses.fake_tensor")
    log.addHandler(records)
    try:
        with pytest.raises(RuntimeError, match="SymIntArrayRef expected to contain only concrete integers"):
            trace_symbolic(lambda: build("swin-wmsa", shape, hp), shape)
        assert records.messages == []
        log.error("still listening")              # the logger works again after the trace
        assert records.messages == ["still listening"]
    finally:
        log.removeHandler(records)


def test_the_log_is_back_afterwards():
    log = logging.getLogger("torch._subclasses.fake_tensor")
    before = log.disabled
    with quiet_fake_tensor_log():
        assert log.disabled
    assert log.disabled == before

"""Silence torch's own log of FakeTensor failures while attncost runs a model on FakeTensors (no sympy)."""

from __future__ import annotations

import contextlib
import logging


@contextlib.contextmanager
def quiet_fake_tensor_log():
    """torch logs the traceback of an op that fails on FakeTensors (``failed while attempting to run
    meta``) before raising it; attncost reports that error once, in one line (the analysis's error, or
    verify's "symbolic trace not applicable"; its traceback with ``attncost --debug``), so the log is
    off while a model runs on FakeTensors."""
    log = logging.getLogger("torch._subclasses.fake_tensor")
    before = log.disabled
    log.disabled = True
    try:
        yield
    finally:
        log.disabled = before

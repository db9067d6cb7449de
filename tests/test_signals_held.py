"""A signal that comes while a board's Node process is being started waits until the board holds
the process, then acts as it would have: otherwise an interrupt inside subprocess.Popen, after the
fork, leaves a Node process nobody stops (hil_tests/test_signals.py saw one under load)."""

import os
import signal
import time

import pytest

from takeover.nodeboard import _signals_held


class Stop(Exception):
    pass


def _raise(signum, _frame):
    raise Stop(signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_inside_the_block_acts_once_the_block_has_finished(signum):
    before = signal.signal(signum, _raise)
    finished = False
    try:
        with pytest.raises(Stop):
            with _signals_held():
                os.kill(os.getpid(), signum)
                time.sleep(0.05)  # a handler that ran now would raise here
                finished = True
        assert finished
        assert signal.getsignal(signum) is _raise  # the handler is back
    finally:
        signal.signal(signum, before)


def test_without_a_signal_the_block_changes_nothing():
    before = signal.getsignal(signal.SIGTERM)
    with _signals_held():
        pass
    assert signal.getsignal(signal.SIGTERM) is before

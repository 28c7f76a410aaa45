"""Ctrl-C during training (smp_gym.tools.training.GracefulStop): the first SIGINT is a request
the loop reads after its iteration, a second one interrupts, and the previous handler is back
afterwards. The examples' use of it: tests/examples/test_examples.py."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from smp_gym.tools.training import GracefulStop


def test_first_sigint_is_a_request_the_second_interrupts_and_the_handler_is_restored(capsys):
    before = signal.getsignal(signal.SIGINT)
    with GracefulStop() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested  # no KeyboardInterrupt: the loop decides when to stop
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
    assert "finishing this iteration" in capsys.readouterr().err


def test_disabled_under_torchrun_or_off_the_main_thread_it_leaves_sigint_alone(monkeypatch):
    before = signal.getsignal(signal.SIGINT)
    with GracefulStop(enabled=False):
        assert signal.getsignal(signal.SIGINT) is before
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun: ranks could stop at different iterations
    with GracefulStop() as stop:
        assert not stop.enabled and signal.getsignal(signal.SIGINT) is before
    monkeypatch.delenv("WORLD_SIZE")
    seen = []

    def worker():
        with GracefulStop() as stop:
            seen.append((stop.enabled, signal.getsignal(signal.SIGINT) is before))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [(False, True)]

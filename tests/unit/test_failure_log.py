"""Retrying loops (the relay, the worker) log a failing streak once in full, then briefly."""

import logging

from telemed.notify.relay import FailureLog


def test_a_streak_is_logged_once_in_full_then_its_recovery(caplog):
    log = FailureLog("job", logging.getLogger("test.failures"), every=3600)
    with caplog.at_level(logging.WARNING, "test.failures"):
        for _ in range(5):
            try:
                raise ValueError("boom")
            except ValueError:
                log.failed()
        log.succeeded()
        log.succeeded()
    assert [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        ("ERROR", "job failed; retrying", True),
        ("WARNING", "job works again", False),
    ]


def test_a_long_streak_says_so_now_and_then(caplog):
    log = FailureLog("job", logging.getLogger("test.failures"), every=0)
    with caplog.at_level(logging.WARNING, "test.failures"):
        for _ in range(3):
            try:
                raise ValueError("boom")
            except ValueError:
                log.failed()
    assert [r.getMessage().split(" after")[0] for r in caplog.records] == [
        "job failed; retrying",
        "job still failing",
        "job still failing",
    ]

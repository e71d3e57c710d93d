"""Serving: waitress's task queue warnings, rate-limited so a busy server's log stays readable."""

from __future__ import annotations

import logging

from app.server import EveryMinute


def queue_warning(depth: int) -> logging.LogRecord:
    return logging.LogRecord(
        "waitress.queue", logging.WARNING, __file__, 1, f"Task queue depth is {depth}", (), None
    )


def test_queue_depth_warnings_are_written_once_a_minute_with_a_count_of_the_rest() -> None:
    now = [1000.0]
    limit = EveryMinute(clock=lambda: now[0])
    written = []
    for depth in range(1, 41):  # forty busy moments in 20 seconds
        record = queue_warning(depth)
        if limit.filter(record):
            written.append(record.getMessage())
        now[0] += 0.5
    now[0] += 60
    last = queue_warning(3)
    assert limit.filter(last)
    assert written == ["Task queue depth is 1"]
    assert last.getMessage() == "Task queue depth is 3 (39 more since the last one written)"

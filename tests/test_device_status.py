"""Device.status on a board still working through a backlog.

pyserial's loop:// port plays the board: whatever is written to it comes back, so the test writes
the board's replies itself, from a thread, at the pace a slow board would send them.
"""

import threading
import time

from takeover import codec
from takeover.device import Device


def _board_replies(dev, backlog, every_s, then_seq):
    """STATUS replies to `backlog` earlier frames, one every `every_s`, then the one asked for."""
    def run():
        for k in range(backlog):
            time.sleep(every_s)
            dev._ser.write(codec.encode("status", 1000 + k, frame_seq=500 + k))
        time.sleep(every_s)
        dev._ser.write(codec.encode("status", 2000, frame_seq=then_seq, processed=77))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_board_still_answering_earlier_frames_is_waited_for_up_to_the_busy_limit():
    with Device("loop://") as dev:
        seen = []
        replies = _board_replies(dev, backlog=8, every_s=0.15, then_seq=dev._seq)  # the status_req's seq
        status = dev.status(timeout=0.4, sink=seen.append, busy_limit=10.0)
        replies.join()
    assert status is not None and status["processed"] == 77
    # what came before it went to the sink, in order (the status_req itself comes back too: loop://)
    assert [m["frame_seq"] for m in seen if m.name == "status"] == list(range(500, 508))


def test_without_a_busy_limit_the_wait_ends_at_the_timeout():
    with Device("loop://") as dev:
        replies = _board_replies(dev, backlog=8, every_s=0.15, then_seq=dev._seq)
        start = time.monotonic()
        status = dev.status(timeout=0.4)
        waited = time.monotonic() - start
        replies.join()
    assert status is None and waited < 1.0


def test_the_busy_limit_bounds_the_wait_when_the_board_never_answers_the_request():
    with Device("loop://") as dev:
        replies = _board_replies(dev, backlog=30, every_s=0.1, then_seq=40000)  # never the request's
        start = time.monotonic()
        status = dev.status(timeout=0.4, busy_limit=1.5)
        waited = time.monotonic() - start
        replies.join()
    assert status is None and 1.0 <= waited < 2.5

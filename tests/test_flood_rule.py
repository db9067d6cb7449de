"""The flood rule (tkfw.app): a radar frame closer than half a cycle to the last one is dropped only
when the frame waiting behind it is a radar frame too; the bytes read ahead to tell are kept."""

from fake_io import ByteIO
from takeover import codec
from tkfw.app import Firmware


def radar(seq, t_ms):
    return codec.encode("radar", seq, targets=[{"id": 1, "range": 60_000, "range_rate": -5_000, "lateral": 0}],
                        t_ms=t_ms, ego_speed=20_000)


def serve(frames, chunk=4096):
    """All the frames waiting at once, as when a flood has filled the transport's buffer."""
    io = ByteIO(b"".join(frames), chunk)
    fw = Firmware(io, "test")
    while io.pos < len(io.data) or fw.dec.fill:
        before = (io.pos, fw.dec.fill)
        fw.poll(0)
        if (io.pos, fw.dec.fill) == before:
            break
    return fw, io.out


def test_a_flooded_radar_frame_is_dropped_when_a_newer_radar_frame_waits_behind_it():
    for chunk in (4096, 1, 3):  # whole, byte by byte, and reads that split the look-ahead
        fw, out = serve([codec.encode("info_req", 0), radar(1, 0), radar(2, 5), radar(3, 10),
                         codec.encode("status_req", 4)], chunk)
        statuses = [m["frame_seq"] for m in out if m.name == "status"]
        # seq 2 came 5 ms after seq 1 with seq 3 already waiting: dropped; seq 3 is the newest
        assert statuses == [1, 3, 4], (chunk, statuses)
        assert (fw.dec.dropped, fw.dec.rejected, fw.dec.processed) == (1, 0, 4)


def test_a_ping_or_a_driver_frame_waiting_does_not_drop_the_newest_radar_frame():
    for chunk in (4096, 1, 5):
        fw, out = serve([codec.encode("info_req", 0), radar(1, 0), radar(2, 5), codec.encode("ping", 3, token=7),
                         codec.encode("driver", 4, t_ms=5, flags=11), radar(5, 10), codec.encode("ping", 6, token=8)],
                        chunk)
        statuses = [m["frame_seq"] for m in out if m.name == "status"]
        assert statuses == [1, 2, 5], (chunk, statuses)
        # the bytes read ahead behind seq 2 and seq 5 were the pings': both answered, nothing lost
        assert [m["token"] for m in out if m.name == "pong"] == [7, 8]
        assert (fw.dec.dropped, fw.dec.rejected, fw.dec.bad_crc, fw.dec.skipped_bytes) == (0, 0, 0, 0)


def test_one_far_future_stamp_does_not_make_the_frames_after_it_look_like_a_flood():
    far = 10_000_000  # ms: a radar clock glitch, about 2.8 hours ahead
    for chunk in (4096, 1):
        fw, out = serve([codec.encode("info_req", 0), radar(1, 0), radar(2, far), radar(3, 50), radar(4, 100),
                         radar(5, 150), codec.encode("status_req", 6)], chunk)
        statuses = [m["frame_seq"] for m in out if m.name == "status"]
        # seq 3 is stamped before seq 2: time went back, not a flood; it resets the reference
        assert statuses == [1, 2, 3, 4, 5, 6], (chunk, statuses)
        assert fw.dec.dropped == 0

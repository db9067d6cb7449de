# Runs on the MicroPython VM (takeover.simboard.run_script): replays the fuzz corpus of
# tests/fuzz_corpus.py (/corpus.bin, /intact.bin, /manifest.json) through the whole firmware loop,
# tkfw.app.Firmware.poll + check_inputs, as tkfw.app.run drives it, and prints one JSON line.
#
# - The fake I/O streams the corpus from the VM's filesystem in 64 KiB blocks (the corpus is
#   larger than a Pico's heap would ever hold) and hands the decoder at most want() bytes per read,
#   in chunk sizes that cycle through whole frames, single bytes and odd splits.
# - Every exception out of poll()/check_inputs() is caught and counted as tkfw.app.run does
#   (loop_faults), so one fault does not hide the rest.
# - Every frame the decoder finds CRC-valid is checked against the CRCs of the frames the corpus
#   planted, in stream order (a spy around Decoder._count_seq, which sees each one at
#   buf[0:frame_len], wrong versions included): the k-th accepted must be the k-th planted;
#   one that is not planted at all was misread as valid.
# - A decoder that wants 0 bytes with a frame complete in its buffer is wedged: Firmware.poll would
#   read nothing ever again (an endless loop here). Counted as a hang, then the frame is rejected as
#   bad_type, what the loop should have done, so the rest of the corpus still runs.
# - INFO_REQ starts a new session and zeroes the decoder's counters: they are added up before
#   each one (a spy around Firmware._handle) so the totals cover the whole corpus.
# - Every reply written is checked to be one whole CRC-valid frame.
# - time.ticks_us has 1 ms resolution on this VM: poll times are good to a millisecond.

import json
import time
from array import array
from binascii import crc32

from tkfw import schema
from tkfw.app import Firmware

_BLOCK = 65536  # bytes of corpus read from the file at a time
_CHUNKS = (4096, 1, 4096, 64, 4096, 17, 4096, 300, 4096, 3)  # bytes per read (at most want())
_REFUSE_EVERY = 101  # every 101st reply: "host not reading" (tx_dropped, ALERT written again later)
_SLOW_US = (10000, 100000, 1000000)  # poll-time histogram bounds
_COUNTERS = ("processed", "dropped", "rejected", "bad_crc", "bad_version", "bad_type", "bad_length",
             "lost", "skipped_bytes")
_DEVICE_TYPES = [t for t in schema.MESSAGES if t >= 0x80]


def _key(buf, end):
    """Low 30 bits of the little-endian CRC at buf[end-4:end]: a small int (no allocation)."""
    return buf[end - 4] | (buf[end - 3] << 8) | (buf[end - 2] << 16) | ((buf[end - 1] & 0x3F) << 24)


def _load_intact(path):
    raw = open(path, "rb").read()
    order = array("i", bytes(len(raw)))  # one small int per planted frame, in stream order
    for i in range(0, len(raw) // 4):
        order[i] = _key(raw, 4 * i + 4)
    return order


class CorpusIO:
    def __init__(self, path):
        self.file = open(path, "rb")
        self.block = bytearray(_BLOCK)
        self.view = memoryview(self.block)
        self.pos = 0
        self.end = 0
        self.eof = False
        self.turn = 0
        self.fed = 0
        self.replies = 0
        self.reply_bytes = 0
        self.refused = 0
        self.bad_replies = []
        self.reply_types = {}

    def ticks_us(self):
        return time.ticks_us()

    def read_into(self, buf, start, count, timeout_us):
        if self.pos >= self.end:
            self.end = self.file.readinto(self.block) or 0
            self.pos = 0
            if self.end == 0:
                self.eof = True
                return 0
        n = _CHUNKS[self.turn]
        self.turn = (self.turn + 1) % len(_CHUNKS)
        if n > count:
            n = count
        if n > self.end - self.pos:
            n = self.end - self.pos
        buf[start:start + n] = self.view[self.pos:self.pos + n]
        self.pos += n
        self.fed += n
        return n

    def pending(self):
        return 0 if self.eof else 1

    def write(self, buf, count):
        self.replies += 1
        ok = (count >= 12 and buf[0] == schema.SYNC and (buf[1] | (buf[2] << 8)) + 8 == count
              and buf[3] == schema.HCHK_KEY ^ buf[1] ^ buf[2] and buf[4] == schema.VERSION
              and (buf[5] in _DEVICE_TYPES or buf[5] == schema.T_ECHO)
              and crc32(memoryview(buf)[4:count]) == schema.CRC_RESIDUE)
        if not ok and len(self.bad_replies) < 5:
            self.bad_replies.append(bytes(buf[:count]).hex())
        elif not ok:
            self.bad_replies.append("")
        self.reply_types[buf[5]] = self.reply_types.get(buf[5], 0) + 1
        if self.replies % _REFUSE_EVERY == 0:
            self.refused += 1
            return False
        self.reply_bytes += count
        return True

    def show(self, row):
        pass

    def hands_on(self):
        return self.fed & 0x400 != 0  # flips every kilobyte of corpus

    def service(self):
        pass

    def log(self, text):
        pass


def main():
    try:
        with open("/manifest.json") as f:
            manifest = json.load(f)
    except OSError:  # run by hand without one
        manifest = {}
    order = _load_intact("/intact.bin")
    io = CorpusIO("/corpus.bin")
    fw = Firmware(io, "fuzz")
    dec = fw.dec
    totals = {}
    for name in _COUNTERS:
        totals[name] = 0
    seen = {"accepted": 0, "in_order": 0, "out_of_order": 0, "misread": 0, "misread_at": [], "wedged": 0,
            "wedged_at": []}

    count_seq = dec._count_seq
    handle = fw._handle

    def spy_count_seq(seq):
        key = _key(dec.buf, dec.frame_len)
        k = seen["accepted"]
        seen["accepted"] = k + 1
        if k < len(order) and order[k] == key:
            seen["in_order"] += 1
        elif key in order:  # a linear search, only when something is already wrong
            seen["out_of_order"] += 1
        else:
            seen["misread"] += 1
            if len(seen["misread_at"]) < 5:
                seen["misread_at"].append([io.fed, bytes(dec.buf[:dec.frame_len]).hex()])
        count_seq(seq)

    def spy_handle(msg_type, rx_ticks):
        if msg_type == schema.T_INFO_REQ:  # about to zero the counters: keep this session's
            for name in _COUNTERS:
                totals[name] += getattr(dec, name)
            seen["sessions"] = seen.get("sessions", 0) + 1
        handle(msg_type, rx_ticks)

    dec._count_seq = spy_count_seq
    fw._handle = spy_handle

    faults = 0
    errors = []
    polls = 0
    worst_us = 0
    worst_at = 0
    slow = [0] * len(_SLOW_US)
    t_start = time.ticks_ms()
    while not io.eof:
        if dec.want() <= 0:
            seen["wedged"] += 1
            if len(seen["wedged_at"]) < 5:
                seen["wedged_at"].append([io.fed, bytes(dec.buf[:dec.frame_len]).hex()])
            dec.reject("bad_type")
        t0 = time.ticks_us()
        try:
            fw.poll(0)
            fw.check_inputs()
            io.service()
        except Exception as exc:  # what tkfw.app.run does: count, clear the candidate, go on
            faults += 1
            fw.faults += 1
            dec.fill = 0
            dec.frame_len = 0
            if len(errors) < 5:
                errors.append([io.fed, repr(exc)])
        spent = time.ticks_diff(time.ticks_us(), t0)
        polls += 1
        if spent > worst_us:
            worst_us = spent
            worst_at = io.fed
        for i in range(len(_SLOW_US)):
            if spent >= _SLOW_US[i]:
                slow[i] += 1
    elapsed_ms = time.ticks_diff(time.ticks_ms(), t_start)
    for name in _COUNTERS:
        totals[name] += getattr(dec, name)
    slots = manifest.get("slots", 0)
    result = {
        "slots": slots, "frames_fed": manifest.get("frames", 0) + manifest.get("kinds", {}).get("repeat", 0),
        "bytes_fed": io.fed, "polls": polls, "elapsed_ms": elapsed_ms,
        "slots_per_s": slots * 1000 // elapsed_ms if elapsed_ms > 0 else 0,
        "kbytes_per_s": io.fed // elapsed_ms if elapsed_ms > 0 else 0,
        "loop_faults": faults, "errors": errors,
        "max_poll_us": worst_us, "max_poll_at_byte": worst_at,
        "polls_over_10ms": slow[0], "polls_over_100ms": slow[1], "polls_over_1s": slow[2],
        "planted": len(order), "accepted": seen["accepted"], "accepted_in_order": seen["in_order"],
        "out_of_order": seen["out_of_order"], "misread": seen["misread"], "misread_at": seen["misread_at"],
        "wedged": seen["wedged"], "wedged_at": seen["wedged_at"],
        "sessions": seen.get("sessions", 0),
        "replies": io.replies, "reply_bytes": io.reply_bytes, "bad_replies": len(io.bad_replies),
        "bad_reply_hex": [h for h in io.bad_replies if h],
        "reply_types": io.reply_types, "tx_refused": io.refused, "tx_dropped": fw.tx_dropped,
        "leftover_fill": dec.fill,
    }
    for name in _COUNTERS:
        result[name] = totals[name]
    print(json.dumps(result))


main()

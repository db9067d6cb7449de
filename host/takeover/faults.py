"""Fault injection for `takeover run`: what a bench and a car can do to the link.

    --corrupt PCT      flip one random bit in PCT % of the frames sent (radar and driver)
    --drop PCT         lose PCT % of the frames on the way (their seq is used up: the device
                       must count each as rejected, missing from its seq series)
    --stall T:S        send nothing from scenario time T for S seconds (the radar goes quiet:
                       the firmware must raise FAULT at TAKEOVER within 200 ms, and clear it)
    --flood N          send radar frames N times as often (stamped N times closer: a radar
                       gone mad); the firmware keeps the newest and counts the rest as dropped
    --unplug-at T      pull the cable at scenario time T: the run ends with one error line and a
                       partial report
    --fault-seed K     which frames are hit (default 1): the same seed, the same faults

Every fault keeps the accounting exact: sent = processed + dropped + rejected on the device.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from takeover.errors import UsageError


@dataclass
class Faults:
    corrupt_pct: float = 0.0
    drop_pct: float = 0.0
    stall_at_s: float | None = None
    stall_s: float = 0.0
    flood: int = 1
    unplug_at_s: float | None = None
    seed: int = 1

    def __post_init__(self):
        for name in ("corrupt_pct", "drop_pct"):
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise UsageError(f"--{name[:-4]} {value:g}: a percentage, 0..100")
        if not 1 <= self.flood <= 50:
            raise UsageError(f"--flood {self.flood}: a rate multiple, 1..50")
        if self.stall_s < 0 or (self.stall_at_s is not None and self.stall_at_s < 0):
            raise UsageError("--stall T:S: both must be >= 0")
        self._rng = random.Random(self.seed)
        self.corrupted = 0
        self.lost = 0
        self.stalled_frames = 0
        self.flood_frames = 0
        self.last_mangled = False

    @property
    def active(self) -> bool:
        return bool(self.corrupt_pct or self.drop_pct or self.stall_at_s is not None or self.flood > 1
                    or self.unplug_at_s is not None)

    def describe(self) -> dict:
        return {"corrupt_pct": self.corrupt_pct, "drop_pct": self.drop_pct, "stall_at_s": self.stall_at_s,
                "stall_s": self.stall_s, "flood": self.flood, "unplug_at_s": self.unplug_at_s, "seed": self.seed,
                "corrupted": self.corrupted, "lost": self.lost, "stalled_frames": self.stalled_frames,
                "flood_frames": self.flood_frames}

    def stalled(self, t_s: float) -> bool:
        return self.stall_at_s is not None and self.stall_at_s <= t_s < self.stall_at_s + self.stall_s

    def lose_this(self) -> bool:
        hit = self.drop_pct > 0 and self._rng.random() * 100 < self.drop_pct
        self.lost += hit
        return hit

    def mangler(self):
        """A function that flips one bit of a frame, for this frame if it is hit, else None."""
        self.last_mangled = False
        if not (self.corrupt_pct > 0 and self._rng.random() * 100 < self.corrupt_pct):
            return None
        self.last_mangled = True
        self.corrupted += 1
        pos = self._rng.random()
        bit = 1 << self._rng.randrange(8)

        def flip(data: bytes) -> bytes:
            out = bytearray(data)
            out[int(pos * len(out))] ^= bit
            return bytes(out)

        return flip


def parse_stall(text: str | None) -> tuple[float | None, float]:
    if text is None:
        return None, 0.0
    at, sep, length = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return float(at), float(length)
    except ValueError:
        raise UsageError(f"--stall {text!r}: expected T:S, e.g. 2.0:0.5 (at 2 s, for 0.5 s)") from None

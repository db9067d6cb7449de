"""The driver monitor's short way (an attentive driver, nothing running) decides exactly what the
full update decides.

DriverMonitor.update skips the timers while the driver stays attentive and nothing is running or
held: the full update would only add time to counters that are zeroed before they matter. Random
drives are run twice, once as the firmware runs them and once with the short way refused at every
step; every figure the firmware reads or reports must agree at every step.
"""

import random

import pytest

from tkfw import alerts, schema
from tkfw.dm import DriverMonitor
from tkfw.settings import SPEC, Settings

SEEN = ("hands_level", "eyes_level", "drowsy_level", "vats_level", "top_level", "terminal", "locked_out",
        "high_sensitivity", "attentive_ms", "status", "reaction", "vats_idx", "vats_bucket_ms", "vats_sum_ms")
ATTENTIVE = schema.DRIVER_HANDS_ON | schema.DRIVER_EYES_ON_ROAD | schema.DRIVER_ENGAGED


def drive(rng, steps):
    """(t_ms, driver frame flags or None, pin pressed) per update: long attentive spells broken by
    glances, closed eyes, hands off, lost camera frames and pin presses."""
    t = 0
    flags = ATTENTIVE
    for _ in range(steps):
        t += rng.choice((0, 1, 50, 50, 50, 100, 999, 1000, 1500))
        if rng.random() < 0.03:
            flags = rng.choice((ATTENTIVE, ATTENTIVE, ATTENTIVE, ATTENTIVE & ~schema.DRIVER_HANDS_ON,
                                ATTENTIVE & ~schema.DRIVER_EYES_ON_ROAD, ATTENTIVE | schema.DRIVER_EYES_CLOSED,
                                schema.DRIVER_HANDS_ON | schema.DRIVER_EYES_ON_ROAD, 0))
        frame = None if rng.random() < 0.05 else flags  # a lost frame; several make the data stale
        yield t, frame, rng.random() < 0.03


@pytest.mark.parametrize("seed", range(40))
def test_the_short_way_agrees_with_the_full_update_at_every_step(seed):
    rng = random.Random(seed)
    settings = Settings()
    hold_key = next(k for k, row in enumerate(SPEC) if row[0] == "hs_hold_s")
    fast, full = DriverMonitor(), DriverMonitor()
    shortcuts = 0
    highest = 0
    for step, (t_ms, flags, pin) in enumerate(drive(rng, 600)):
        if step == 300 and seed % 2:  # mid-drive, the host sets a longer hold after inattention
            assert settings.set_device(hold_key, 8000) == schema.CONFIG_OK
        for dm in (fast, full):
            if flags is not None:
                dm.on_frame(flags, t_ms)
        shortcuts += fast.quiet
        full.quiet = False  # the full update, always
        fast.update(t_ms, pin, settings)
        full.update(t_ms, pin, settings)
        for name in SEEN:
            assert getattr(fast, name) == getattr(full, name), (seed, step, t_ms, name)
        highest = max(highest, full.top_level)
    # both ways were walked: the short one often, the full one up to a warning at least
    assert shortcuts > 20 and highest >= alerts.WARNING, (shortcuts, highest)

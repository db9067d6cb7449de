"""The alert table and the arbiter that picks which alert the driver gets.

Alerts are data, not code (the openpilot events.py / alertmanager.py model): one row per
(level, cause) with its priority and what every output does. The host imports this same table to
build its expectations and to label reports. Causes are append-only (their index is on the wire).

Outputs per level, escalating as UN R171 / R157 describe (visual, then audible, then haptic, then a
brake request):
- NOTICE: amber LED, steady. Silent.
- WARNING: red LED blinking 2 Hz, 2 kHz beeps.
- TAKEOVER: red LED blinking 4 Hz, 2.5 kHz fast beeps, haptic pulses.
- EMERGENCY: red LED steady, continuous 3 kHz tone, continuous haptic, brake request raised.
"""

from tkfw.compat import const, ticks_diff  # frame time t_ms wraps at 2**30 like ticks

NONE = const(0)
NOTICE = const(1)
WARNING = const(2)
TAKEOVER = const(3)
EMERGENCY = const(4)
LEVELS = ("NONE", "NOTICE", "WARNING", "TAKEOVER", "EMERGENCY")

CAUSE_NONE = const(0)
CAUSE_COLLISION = const(1)
CAUSES = ("none", "collision")

OUT_VISUAL = const(1)
OUT_AUDIBLE = const(2)
OUT_HAPTIC = const(4)
OUT_BRAKE = const(8)

# Column indices of TABLE rows.
LEVEL = const(0)
CAUSE = const(1)
PRIORITY = const(2)
LED = const(3)  # 0 off, 1 amber, 2 red
LED_ON_MS = const(4)  # blink on time; 0 with LED set = steady
LED_OFF_MS = const(5)
TONE_HZ = const(6)  # 0 = silent
TONE_ON_MS = const(7)
TONE_OFF_MS = const(8)  # 0 = continuous
HAPTIC_ON_MS = const(9)  # 0 = none
HAPTIC_OFF_MS = const(10)  # 0 = continuous while on
BRAKE = const(11)  # 1 raises the brake-request output
MIN_DURATION_MS = const(12)  # shown at least this long once raised
CREATION_DELAY_MS = const(13)  # condition must hold this long before the alert is raised

TABLE = (
    # level      cause            prio led on  off  tone on   off  hapt off brake min  delay
    (NONE, CAUSE_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    (NOTICE, CAUSE_COLLISION, 10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 0),
    (WARNING, CAUSE_COLLISION, 20, 2, 250, 250, 2000, 150, 350, 0, 0, 0, 1000, 0),
    (TAKEOVER, CAUSE_COLLISION, 30, 2, 125, 125, 2500, 100, 100, 200, 200, 0, 1000, 0),
    (EMERGENCY, CAUSE_COLLISION, 40, 2, 0, 0, 3000, 0, 0, 1000, 0, 1, 1000, 0),
)


def row_for(level, cause):
    """The TABLE row of (level, cause); the NONE row when there is none."""
    for row in TABLE:
        if row[LEVEL] == level and row[CAUSE] == cause:
            return row
    return TABLE[0]


def outputs_of(row):
    """Bitmask of the outputs a row drives (the `outputs` field of ALERT)."""
    bits = 0
    if row[LED]:
        bits |= OUT_VISUAL
    if row[TONE_HZ]:
        bits |= OUT_AUDIBLE
    if row[HAPTIC_ON_MS]:
        bits |= OUT_HAPTIC
    if row[BRAKE]:
        bits |= OUT_BRAKE
    return bits


class Arbiter:
    """Holds each cause's level on an escalation ladder and picks the alert to show.

    Ladder (per cause, on frame time t_ms, never on ticks): a higher request is raised at once; a
    lower one only after the row in force has been shown MIN_DURATION_MS since it was raised AND
    requests have stayed below it for hold_ms (tkfw.settings deescalate_hold_s). It then steps
    down to the highest level requested during that hold, so a level that came back briefly is
    not skipped.

    The winner is the highest priority; among equals, the earliest raised. The driver monitor and
    fault causes join through request().
    """

    def __init__(self):
        n = len(CAUSES)
        self.requested = [NONE] * n  # level in force for each cause (after the ladder)
        self.since_ms = [0] * n  # scenario time it was raised
        self.low_level = [-1] * n  # highest level asked for while below it; -1: not stepping down
        self.low_since_ms = [0] * n  # when requests first fell below it
        self.level = NONE
        self.cause = CAUSE_NONE
        self.row = TABLE[0]

    def request(self, cause, level, t_ms, hold_ms=0):
        current = self.requested[cause]
        if level >= current:
            self.low_level[cause] = -1
            if level > current:  # escalation is immediate
                self.requested[cause] = level
                self.since_ms[cause] = t_ms
            return
        low = self.low_level[cause]
        if low < 0:
            self.low_since_ms[cause] = t_ms
            low = level
        elif level > low:
            low = level
        self.low_level[cause] = low
        if (ticks_diff(t_ms, self.since_ms[cause]) >= row_for(current, cause)[MIN_DURATION_MS]
                and ticks_diff(t_ms, self.low_since_ms[cause]) >= hold_ms):
            self.requested[cause] = low
            self.since_ms[cause] = t_ms
            if level < low:  # still lower: the next step down starts its hold now
                self.low_level[cause] = level
                self.low_since_ms[cause] = t_ms
            else:
                self.low_level[cause] = -1

    def decide(self):
        """Pick the winner; return True when the shown alert changed."""
        best = TABLE[0]
        best_since = 0
        for cause in range(1, len(CAUSES)):
            level = self.requested[cause]
            if level == NONE:
                continue
            row = row_for(level, cause)
            since = self.since_ms[cause]
            if row[PRIORITY] > best[PRIORITY] or (row[PRIORITY] == best[PRIORITY] and since < best_since):
                best = row
                best_since = since
        if best is self.row:
            return False
        self.row = best
        self.level = best[LEVEL]
        self.cause = best[CAUSE]
        return True

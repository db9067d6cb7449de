"""The alert table and the arbiter that picks which alert the driver gets.

Alerts are data, not code (the openpilot events.py / alertmanager.py model): one row per
(level, cause) with its priority and what every output does. The host imports this same table to
build its expectations and to label reports. Causes are append-only (their index is on the wire).

Collision outputs, escalating as UN R171 / R157 describe (visual, then audible, then haptic, then a
brake request):
- NOTICE: amber LED, steady. Silent.
- WARNING: red LED blinking 2 Hz, 2 kHz beeps.
- TAKEOVER: red LED blinking 4 Hz, 2.5 kHz fast beeps, haptic pulses.
- EMERGENCY: red LED steady, continuous 3 kHz tone, continuous haptic, brake request (AEB).
Driver-monitor outputs (tkfw.dm) use lower, slower chimes so a driver can tell "look at the road"
from "brake now": NOTICE is a blinking amber request, WARNING adds a 1 kHz chime, TAKEOVER a red
LED, haptic pulses and 1.5 kHz beeps, EMERGENCY (unresponsive driver) a minimal-risk request:
brake to a stop at <= 4 m/s^2 with the hazard lights (UN R157 minimal-risk manoeuvre).

Priority = 10 x level + a rank per cause, so a higher level always wins and, at the same level,
collision > fault > drowsy > eyes_off > vats > hands_off > lockout. A fault (radar frames stopped:
tkfw.app) asks for TAKEOVER with the collision TAKEOVER's outputs; once no input at all has come
for host_lost_s after it (the host is gone, not the radar), only NOTICE: a short amber flash every
2 s, silent.

A collision cue is never hidden: while a collision alert and a driver-monitor alert are both in
force, the winner keeps its level and cause, but the outputs combine both (combined()): the
collision's LED pattern, and on each other channel (tone, haptic, brake) the collision's where it
drives one, else the driver monitor's. So a distracted driver under an eyes-off TAKEOVER still sees
the collision WARNING's red blink, and an eyes-off NOTICE still sounds under a collision NOTICE.
The ALERT names the other side in level2 / cause2.
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
CAUSE_HANDS_OFF = const(2)  # hands off the wheel while assistance is engaged (UN R171)
CAUSE_EYES_OFF = const(3)  # continuous gaze away from the road (Euro NCAP long distraction)
CAUSE_VATS = const(4)  # repeated glances away: visual attention time sharing (Euro NCAP)
CAUSE_DROWSY = const(5)  # eyes closed: microsleep, sleep (Euro NCAP)
CAUSE_LOCKOUT = const(6)  # assistance locked out after repeated terminal alerts (until restart)
CAUSE_FAULT = const(7)  # an input went stale (radar frames stopped): the driver must take over
CAUSES = ("none", "collision", "hands_off", "eyes_off", "vats", "drowsy", "lockout", "fault")

OUT_VISUAL = const(1)
OUT_AUDIBLE = const(2)
OUT_HAPTIC = const(4)
OUT_BRAKE = const(8)  # brake request: emergency braking (AEB)
OUT_MRM = const(16)  # minimal-risk request: brake to a stop at <= 4 m/s^2, hazard lights on

BRAKE_AEB = const(1)  # values of the BRAKE column
BRAKE_MRM = const(2)

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
BRAKE = const(11)  # 0 none, BRAKE_AEB brake request, BRAKE_MRM minimal-risk stop + hazards
MIN_DURATION_MS = const(12)  # shown at least this long once raised
CREATION_DELAY_MS = const(13)  # condition must hold this long before the alert is raised

TABLE = (
    # level      cause            prio led on  off  tone on   off  hapt off brake min  delay
    (NONE, CAUSE_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    (NOTICE, CAUSE_COLLISION, 16, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 0),
    (WARNING, CAUSE_COLLISION, 26, 2, 250, 250, 2000, 150, 350, 0, 0, 0, 1000, 0),
    (TAKEOVER, CAUSE_COLLISION, 36, 2, 125, 125, 2500, 100, 100, 200, 200, 0, 1000, 0),
    (EMERGENCY, CAUSE_COLLISION, 46, 2, 0, 0, 3000, 0, 0, 1000, 0, BRAKE_AEB, 1000, 0),
    (WARNING, CAUSE_DROWSY, 24, 1, 250, 250, 1000, 200, 800, 0, 0, 0, 1000, 0),
    (TAKEOVER, CAUSE_DROWSY, 34, 2, 125, 125, 1500, 150, 150, 300, 300, 0, 1000, 0),
    (EMERGENCY, CAUSE_DROWSY, 44, 2, 0, 0, 1500, 500, 500, 1000, 0, BRAKE_MRM, 1000, 0),
    (NOTICE, CAUSE_EYES_OFF, 13, 1, 500, 500, 0, 0, 0, 0, 0, 0, 1000, 0),
    (WARNING, CAUSE_EYES_OFF, 23, 1, 250, 250, 1000, 200, 800, 0, 0, 0, 1000, 0),
    (TAKEOVER, CAUSE_EYES_OFF, 33, 2, 125, 125, 1500, 150, 150, 300, 300, 0, 1000, 0),
    (EMERGENCY, CAUSE_EYES_OFF, 43, 2, 0, 0, 1500, 500, 500, 1000, 0, BRAKE_MRM, 1000, 0),
    (WARNING, CAUSE_VATS, 22, 1, 250, 250, 1000, 200, 800, 0, 0, 0, 1000, 0),
    (NOTICE, CAUSE_HANDS_OFF, 11, 1, 500, 500, 0, 0, 0, 0, 0, 0, 1000, 0),
    (WARNING, CAUSE_HANDS_OFF, 21, 1, 250, 250, 1000, 200, 800, 0, 0, 0, 1000, 0),
    (TAKEOVER, CAUSE_HANDS_OFF, 31, 2, 125, 125, 1500, 150, 150, 300, 300, 0, 1000, 0),
    (EMERGENCY, CAUSE_HANDS_OFF, 41, 2, 0, 0, 1500, 500, 500, 1000, 0, BRAKE_MRM, 1000, 0),
    (NOTICE, CAUSE_LOCKOUT, 10, 1, 250, 1750, 0, 0, 0, 0, 0, 0, 1000, 0),
    (NOTICE, CAUSE_FAULT, 15, 1, 100, 1900, 0, 0, 0, 0, 0, 0, 1000, 0),
    (TAKEOVER, CAUSE_FAULT, 35, 2, 125, 125, 2500, 100, 100, 200, 200, 0, 1000, 0),
)

# The levels each cause can ask for (every one has its TABLE row; tests check both ways).
CAUSE_LEVELS = (
    (),  # none
    (NOTICE, WARNING, TAKEOVER, EMERGENCY),  # collision: tkfw.ttc
    (NOTICE, WARNING, TAKEOVER, EMERGENCY),  # hands_off: tkfw.dm ladder
    (NOTICE, WARNING, TAKEOVER, EMERGENCY),  # eyes_off: tkfw.dm ladder
    (WARNING,),  # vats
    (WARNING, TAKEOVER, EMERGENCY),  # drowsy: microsleep, sleep, unresponsive
    (NOTICE,),  # lockout
    (NOTICE, TAKEOVER),  # fault: the system cannot see (TAKEOVER); its host is gone (NOTICE)
)


def _index():
    """ROWS[cause][level] -> TABLE row (the NONE row where a cause has none): made once."""
    rows = [[TABLE[0]] * (EMERGENCY + 1) for _ in CAUSES]
    for row in TABLE[1:]:
        rows[row[CAUSE]][row[LEVEL]] = row
    return tuple(tuple(r) for r in rows)


_ROWS = _index()


def row_for(level, cause):
    """The TABLE row of (level, cause); the NONE row when there is none. O(1): the arbiter asks
    for several rows every frame."""
    if 0 <= cause < len(_ROWS) and 0 <= level <= EMERGENCY:
        return _ROWS[cause][level]
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
    if row[BRAKE] == BRAKE_AEB:
        bits |= OUT_BRAKE
    elif row[BRAKE] == BRAKE_MRM:
        bits |= OUT_MRM
    return bits


def combined(top, other):
    """The row shown while `top` wins and `other` (the other side: collision or driver monitor)
    is in force too: top's level, cause, priority and durations; the collision's LED; on each other
    channel the collision's setting where it drives one, else the driver monitor's."""
    collision, dm = (top, other) if top[CAUSE] == CAUSE_COLLISION else (other, top)
    tone = collision if collision[TONE_HZ] else dm
    haptic = collision if collision[HAPTIC_ON_MS] else dm
    row = list(top)
    for i in (LED, LED_ON_MS, LED_OFF_MS):
        row[i] = collision[i]
    for i in (TONE_HZ, TONE_ON_MS, TONE_OFF_MS):
        row[i] = tone[i]
    for i in (HAPTIC_ON_MS, HAPTIC_OFF_MS):
        row[i] = haptic[i]
    row[BRAKE] = collision[BRAKE] or dm[BRAKE]
    return tuple(row)


# The driver monitor's causes: a run of indices, which Arbiter.decide() tests as a range.
DM_CAUSES = tuple(range(CAUSE_HANDS_OFF, CAUSE_LOCKOUT + 1))


def _combined_index():
    """[collision level][dm cause][dm level] -> (row shown when the collision wins, row shown when
    the driver monitor wins), for every pair a cause can ask for: made once, so the arbiter picks a
    combined row without building one."""
    none = combined(TABLE[0], TABLE[0])  # the NONE row, typed as the combined rows are
    unused = (none, none)  # a pair no cause asks for: never read (decide() checks the level)
    rows = [[[unused] * (EMERGENCY + 1) for _ in CAUSES] for _ in range(EMERGENCY + 1)]
    for col_level in CAUSE_LEVELS[CAUSE_COLLISION]:
        col = _ROWS[CAUSE_COLLISION][col_level]
        for cause in DM_CAUSES:
            for level in CAUSE_LEVELS[cause]:
                dm = _ROWS[cause][level]
                rows[col_level][cause][level] = (combined(col, dm), combined(dm, col))
    return tuple(tuple(tuple(by_level) for by_level in by_cause) for by_cause in rows)


_COMBINED = _combined_index()


class Arbiter:
    """Holds each cause's level on an escalation ladder and picks the alert to show.

    Ladder (per cause, on frame time t_ms, never on ticks): a higher request is raised at once; a
    lower one only after the row in force has been shown MIN_DURATION_MS since it was raised AND
    requests have stayed below it for hold_ms (tkfw.settings deescalate_hold_s). It then steps
    down to the highest level requested during that hold, so a level that came back briefly is
    not skipped.

    The winner is the highest priority; among equals, the earliest raised. The driver monitor and
    fault causes join through request().

    Most frames change nothing here, and a method call costs several microseconds on the board,
    so two shortcuts keep the frame path cheap: `settled[cause]` is the level a request may repeat
    without any effect (the level in force, or -1 while a step-down is being held), so a caller
    skips request() when its level equals it; and decide() only looks at the causes again when a
    request changed a level in force (`changed`).
    """

    def __init__(self):
        n = len(CAUSES)
        self.requested = [NONE] * n  # level in force for each cause (after the ladder)
        self.since_ms = [0] * n  # scenario time it was raised
        self.low_level = [-1] * n  # highest level asked for while below it; -1: not stepping down
        self.low_since_ms = [0] * n  # when requests first fell below it
        self.settled = [NONE] * n  # requested[cause] when low_level[cause] < 0, else -1
        self.reset()

    def reset(self):
        """Nothing requested, nothing shown (a new drive); nothing is allocated."""
        for cause in range(len(CAUSES)):
            self.requested[cause] = NONE
            self.since_ms[cause] = 0
            self.low_level[cause] = -1
            self.low_since_ms[cause] = 0
            self.settled[cause] = NONE
        self.level = NONE
        self.cause = CAUSE_NONE
        self.level2 = NONE  # the other side in force (collision or driver monitor), if any
        self.cause2 = CAUSE_NONE
        self.row = TABLE[0]  # the row shown: the winner's, or combined with the other side's
        self.outputs = 0  # outputs_of(self.row)
        self.changed = False  # nothing requested and TABLE[0] shown: decide() would keep it

    def request(self, cause, level, t_ms, hold_ms=0):
        """Ask for `level` of `cause` at frame time t_ms (the ladder in the class docstring)."""
        if level == self.settled[cause]:
            return  # nothing to change (callers on the frame path skip the call itself)
        current = self.requested[cause]
        if level >= current:
            self.low_level[cause] = -1
            self.settled[cause] = level
            if level > current:  # escalation is immediate
                self.requested[cause] = level
                self.since_ms[cause] = t_ms
                self.changed = True
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
            self.changed = True
            if level < low:  # still lower: the next step down starts its hold now
                self.low_level[cause] = level
                self.low_since_ms[cause] = t_ms
            else:
                self.low_level[cause] = -1
        self.settled[cause] = self.requested[cause] if self.low_level[cause] < 0 else -1

    def decide(self):
        """Pick the winner; return True when the shown alert changed."""
        if not self.changed:  # no level in force changed since the last pick: the same winner
            return False
        self.changed = False
        best = TABLE[0]
        best_since = 0
        dm = TABLE[0]  # the driver monitor's top row, by the same rule
        dm_since = 0
        # Runs on the frame that raises an ALERT, before it is sent: the lists and the row index
        # are read into locals once, and row_for() is inlined (cause is in range here).
        requested = self.requested
        since_ms = self.since_ms
        rows = _ROWS
        for cause in range(1, len(rows)):
            level = requested[cause]
            if level == NONE:
                continue
            row = rows[cause][level] if 0 <= level <= EMERGENCY else TABLE[0]  # row_for(level, cause)
            since = since_ms[cause]
            if row[PRIORITY] > best[PRIORITY] or (row[PRIORITY] == best[PRIORITY] and since < best_since):
                best = row
                best_since = since
            if CAUSE_HANDS_OFF <= cause <= CAUSE_LOCKOUT and (
                    row[PRIORITY] > dm[PRIORITY] or (row[PRIORITY] == dm[PRIORITY] and since < dm_since)):
                dm = row
                dm_since = since
        shown = best
        level2 = NONE
        cause2 = CAUSE_NONE
        col_level = requested[CAUSE_COLLISION]
        if col_level != NONE and dm[LEVEL] != NONE:
            pair = _COMBINED[col_level][dm[CAUSE]][dm[LEVEL]]
            if best[CAUSE] == CAUSE_COLLISION:
                shown = pair[0]
                level2 = dm[LEVEL]
                cause2 = dm[CAUSE]
            elif best is dm:
                shown = pair[1]
                level2 = col_level
                cause2 = CAUSE_COLLISION
        if shown is self.row:
            return False
        self.row = shown
        self.level = best[LEVEL]
        self.cause = best[CAUSE]
        self.level2 = level2
        self.cause2 = cause2
        self.outputs = outputs_of(shown)
        return True

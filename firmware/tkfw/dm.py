"""Driver monitor: hands-on, eyes-on-road and eyes-closed timers that escalate per UN R171 / Euro NCAP.

Inputs, on frame time t_ms (the timestamps the host frames carry, like the collision logic):
- driver frames (tkfw.schema T_DRIVER flags: hands on, eyes on road, eyes closed, engaged);
- the board's hands-on input (a button or touch pad, boards/<name>.py "hands_on"), read by the
  I/O backend. Either source can say "hands on".
Driver frames older than driver_stale_s are UNKNOWN: hands off, eyes off road, assistance engaged.
Unknown is never attentive, so a camera that stops talking escalates like a driver looking away.

One ladder per cause, every time from tkfw.settings (physical units there, ms here):
- hands_off (only while assistance is engaged): NOTICE after hands_off_request_s (+ the eyes-on
  allowance while the eyes are on the road), WARNING hands_off_escalate_s after the request;
- eyes_off (eyes closed count as off): NOTICE after eyes_off_request_s, WARNING
  eyes_off_escalate_s after the request;
- both then: TAKEOVER dm_takeover_s after the WARNING, EMERGENCY with the minimal-risk request
  dm_mrm_s after the WARNING (UN R171 direct-control alert / risk mitigation);
- drowsy: eyes closed microsleep_s -> WARNING, sleep_s -> TAKEOVER, unresponsive_closed_s ->
  EMERGENCY with the minimal-risk request;
- vats: eyes-off time summed over a sliding vats_window_s (1 s buckets) reaching vats_limit_s ->
  WARNING; vats_reset_s of continuous eyes on road resets the sum.
Attention restored for attention_restore_s (hands on; gaze on road and eyes open) clears that
cause's timer; a shorter return does not, so a glance or a tap cannot reset it. Each
episode reaching TAKEOVER (whichever causes got there) counts as one terminal alert;
lockout_after_count of them lock assistance out until the next drive (the lockout cause stays up).

High sensitivity (the collision rows assume reaction_distracted_s instead of reaction_s) holds
while the eyes are off the road or closed, the data is unknown (as before the first driver
frame), or any request is up, and for hs_hold_s after.

Everything is an int attribute or a preallocated array: update() allocates nothing.
"""

from array import array

from tkfw import alerts, schema
from tkfw.compat import const, ticks_diff

_DT_MAX_MS = const(1000)  # a longer gap between frames counts as 1 s (a stalled host, not a driver)
_BUCKETS = const(60)  # VATS ring: 1 s buckets, the longest window vats_window_s allows
_BUCKET_MS = const(1000)
_ATTENTIVE_CAP_MS = const(60000)  # attentive time is counted up to here (above any hs_hold_s)

# STATUS dm_flags bits (tkfw.schema T_STATUS), the driver monitor's view.
HANDS_ON = const(1)
EYES_ON_ROAD = const(2)
EYES_CLOSED = const(4)
FRESH = const(8)  # a driver frame within driver_stale_s
ENGAGED = const(16)
HIGH_SENSITIVITY = const(32)
LOCKED_OUT = const(64)
PIN_HANDS_ON = const(128)  # the board's hands-on input is pressed

# tkfw.alerts levels and causes and tkfw.schema driver flags as this module's own constants: the
# compiler folds these into the code, where a name read from another module is a dictionary
# lookup at every use (about 3 us on the board, dozens of them per frame). Checked at import.
_NONE = const(0)
_NOTICE = const(1)
_WARNING = const(2)
_TAKEOVER = const(3)
_EMERGENCY = const(4)
_CAUSE_HANDS_OFF = const(2)
_CAUSE_EYES_OFF = const(3)
_CAUSE_VATS = const(4)
_CAUSE_DROWSY = const(5)
_CAUSE_LOCKOUT = const(6)
_F_HANDS_ON = const(1)
_F_EYES_ON_ROAD = const(2)
_F_EYES_CLOSED = const(4)
_F_ENGAGED = const(8)
_F_OVERRIDE = const(16)

if ((alerts.NONE, alerts.NOTICE, alerts.WARNING, alerts.TAKEOVER, alerts.EMERGENCY) != (_NONE, _NOTICE, _WARNING, _TAKEOVER, _EMERGENCY)
        or (alerts.CAUSE_HANDS_OFF, alerts.CAUSE_EYES_OFF, alerts.CAUSE_VATS, alerts.CAUSE_DROWSY, alerts.CAUSE_LOCKOUT)
        != (_CAUSE_HANDS_OFF, _CAUSE_EYES_OFF, _CAUSE_VATS, _CAUSE_DROWSY, _CAUSE_LOCKOUT)
        or (schema.DRIVER_HANDS_ON, schema.DRIVER_EYES_ON_ROAD, schema.DRIVER_EYES_CLOSED, schema.DRIVER_ENGAGED,
            schema.DRIVER_OVERRIDE) != (_F_HANDS_ON, _F_EYES_ON_ROAD, _F_EYES_CLOSED, _F_ENGAGED, _F_OVERRIDE)):
    raise ImportError("tkfw.dm constants out of step with tkfw.alerts / tkfw.schema")


def ladder(since_ms, escalate_ms, settings):
    """Level of a hands-off or eyes-off request raised since_ms ago (>= 0)."""
    if since_ms < escalate_ms:
        return _NOTICE
    since_ms -= escalate_ms
    if since_ms >= settings.dm_mrm_ms:
        return _EMERGENCY
    if since_ms >= settings.dm_takeover_ms:
        return _TAKEOVER
    return _WARNING


class DriverMonitor:
    def __init__(self):
        self.vats_buckets = array("i", [0] * _BUCKETS)  # made once
        self.new_drive()

    def new_drive(self):
        """Forget everything: start-up and each new session."""
        self.flags = 0  # latest driver frame
        self.frame_t_ms = 0
        self.have_frame = False
        # inputs as last seen (unknown until a driver frame says otherwise)
        self.hands = False
        self.eyes_on = False
        self.closed = False
        self.engaged = True
        self.fresh = False
        self.last_ms = 0
        self.started = False
        # continuous durations, ms
        self.hands_off_ms = 0
        self.hands_on_ms = 0
        self.eyes_off_ms = 0
        self.eyes_on_ms = 0
        self.closed_ms = 0
        self.open_ms = 0
        self.attentive_ms = _ATTENTIVE_CAP_MS  # no inattention seen yet: no hold to serve
        # request start, as the off-duration at which it was raised; -1 none
        self.hands_req_at = -1
        self.eyes_req_at = -1
        # VATS
        buckets = self.vats_buckets
        for i in range(_BUCKETS):
            buckets[i] = 0
        self.vats_sum_ms = 0
        self.vats_idx = 0
        self.vats_bucket_ms = 0
        # outcome
        self.hands_level = _NONE
        self.eyes_level = _NONE
        self.drowsy_level = _NONE
        self.vats_level = _NONE
        self.top_level = _NONE  # highest driver-monitor level at the last update
        self.terminal = 0  # episodes that reached TAKEOVER this drive
        self.locked_out = False
        self.high_sensitivity = False
        self.status = 0  # dm_flags for STATUS
        self.reaction = 0  # ms, the reaction time the collision rows assume (set by update)
        self.pin_hands = False  # the board's hands-on input at the last update
        self.override = False  # the driver overrides the brake request (fresh driver frames only)
        self.quiet = False  # attentive and nothing running at the last update (update's short way)

    def on_frame(self, flags, t_ms):
        """A driver frame arrived."""
        self.flags = flags
        self.frame_t_ms = t_ms
        self.have_frame = True

    def update(self, t_ms, pin_hands_on, settings):
        """Advance the timers to frame time t_ms and recompute every cause's level.

        The time since the last update is credited to the inputs that held during it (the ones
        seen last time); the inputs seen now count from now. So a driver who looks away at t0
        has been away exactly t - t0 at time t, whatever the frame rates.
        Values used more than once are read into locals: an attribute costs a lookup per use.
        """
        if not self.started:
            self.started = True
            self.last_ms = t_ms
        dt = ticks_diff(t_ms, self.last_ms)
        if dt < 0:
            dt = 0  # an older frame (driver and radar interleave): time does not go back
        else:
            self.last_ms = t_ms
            if dt > _DT_MAX_MS:
                dt = _DT_MAX_MS
        # -- the inputs from now on
        fresh = self.have_frame and ticks_diff(t_ms, self.frame_t_ms) <= settings.driver_stale_ms
        self.override = fresh and self.flags & _F_OVERRIDE != 0
        if fresh:
            flags = self.flags
            closed = flags & _F_EYES_CLOSED != 0
            hands = pin_hands_on or flags & _F_HANDS_ON != 0
            eyes_on = flags & _F_EYES_ON_ROAD != 0 and not closed
            engaged = flags & _F_ENGAGED != 0
        else:  # unknown: not attentive, and assume assistance is engaged
            hands = pin_hands_on
            closed = False
            eyes_on = False
            engaged = True
        if (self.quiet and hands == self.hands and eyes_on and engaged == self.engaged
                and pin_hands_on == self.pin_hands and self.attentive_ms >= settings.hs_hold_ms):
            # Attentive before and now, nothing running (the common frame): the full update
            # would only add dt to counters that matter once something is off (each is zeroed
            # then), so only the attentive time (which a longer hs_hold_s set now may ask for)
            # and the VATS ring's position move, and the levels stay NONE.
            if dt:
                if self.attentive_ms < _ATTENTIVE_CAP_MS:  # as _advance counts it
                    self.attentive_ms += dt
                bucket_ms = self.vats_bucket_ms + dt
                if bucket_ms >= _BUCKET_MS:
                    self.vats_idx = (self.vats_idx + bucket_ms // _BUCKET_MS) % (settings.vats_window_ms // _BUCKET_MS)
                    bucket_ms %= _BUCKET_MS
                self.vats_bucket_ms = bucket_ms
            self.reaction = settings.reaction_ms
            return
        if dt:
            _advance(self, dt, settings)
        self.hands = hands
        self.closed = closed
        self.eyes_on = eyes_on
        self.engaged = engaged
        self.fresh = fresh
        high_sensitivity = _levels(self, settings, eyes_on, fresh)
        self.reaction = settings.reaction_distracted_ms if high_sensitivity else settings.reaction_ms
        status = 0
        if hands:
            status |= HANDS_ON
        if eyes_on:
            status |= EYES_ON_ROAD
        if closed:
            status |= EYES_CLOSED
        if fresh:
            status |= FRESH
        if engaged:
            status |= ENGAGED
        if high_sensitivity:
            status |= HIGH_SENSITIVITY
        if self.locked_out:
            status |= LOCKED_OUT
        if pin_hands_on:
            status |= PIN_HANDS_ON
        self.status = status
        self.pin_hands = pin_hands_on
        # The next update may take the short way: attentive, fresh, nothing running or held.
        self.quiet = (eyes_on and fresh and (hands or not engaged) and not high_sensitivity
                      and self.top_level == _NONE and not self.locked_out and self.hands_off_ms == 0
                      and self.eyes_off_ms == 0 and self.closed_ms == 0 and self.vats_sum_ms == 0)

    def request(self, arbiter, t_ms, hold_ms):
        """Hand every driver-monitor cause's level to the arbiter. A level the cause already holds
        (arbiter.settled) would change nothing there and is not handed again: five method calls
        per frame were most of the arbitration's time."""
        settled = arbiter.settled
        level = self.hands_level
        if level != settled[_CAUSE_HANDS_OFF]:
            arbiter.request(_CAUSE_HANDS_OFF, level, t_ms, hold_ms)
        level = self.eyes_level
        if level != settled[_CAUSE_EYES_OFF]:
            arbiter.request(_CAUSE_EYES_OFF, level, t_ms, hold_ms)
        level = self.drowsy_level
        if level != settled[_CAUSE_DROWSY]:
            arbiter.request(_CAUSE_DROWSY, level, t_ms, hold_ms)
        level = self.vats_level
        if level != settled[_CAUSE_VATS]:
            arbiter.request(_CAUSE_VATS, level, t_ms, hold_ms)
        level = _NOTICE if self.locked_out else _NONE
        if level != settled[_CAUSE_LOCKOUT]:
            arbiter.request(_CAUSE_LOCKOUT, level, t_ms, hold_ms)

    def reaction_ms(self, settings):
        """The driver reaction time the collision rows assume now."""
        return settings.reaction_distracted_ms if self.high_sensitivity else settings.reaction_ms


# update()'s steps, as module functions taking the monitor rather than methods: on the board a
# method lookup on an object with this many attributes costs about twice a plain call.
def _advance(dm, dt, settings):
    """Credit dt ms to the inputs that held during it."""
    restore = settings.attention_restore_ms
    # hands on the wheel (only asked for while assistance is engaged)
    engaged = dm.engaged
    if dm.hands or not engaged:
        held = dm.hands_on_ms + dt
        dm.hands_on_ms = held
        if held >= restore or not engaged:
            dm.hands_off_ms = 0
            dm.hands_req_at = -1
    else:
        dm.hands_on_ms = 0
        dm.hands_off_ms += dt
    # gaze on the road (closed eyes are off the road too)
    eyes_on = dm.eyes_on
    if eyes_on:
        eyes_on_ms = dm.eyes_on_ms + dt
        if eyes_on_ms >= restore:
            dm.eyes_off_ms = 0
            dm.eyes_req_at = -1
    else:
        eyes_on_ms = 0
        dm.eyes_off_ms += dt
    dm.eyes_on_ms = eyes_on_ms
    # eyes closed
    if dm.closed:
        dm.open_ms = 0
        dm.closed_ms += dt
    else:
        held = dm.open_ms + dt
        dm.open_ms = held
        if held >= restore:
            dm.closed_ms = 0
    # visual attention time sharing: eyes-off time in a sliding window of 1 s buckets
    buckets = dm.vats_buckets
    vats_sum = dm.vats_sum_ms
    if not eyes_on:
        buckets[dm.vats_idx] += dt
        vats_sum += dt
    bucket_ms = dm.vats_bucket_ms + dt
    if bucket_ms >= _BUCKET_MS:  # once per second of frame time
        n = settings.vats_window_ms // _BUCKET_MS
        i = dm.vats_idx
        while bucket_ms >= _BUCKET_MS:
            bucket_ms -= _BUCKET_MS
            i += 1
            if i >= n:
                i = 0
            vats_sum -= buckets[i]  # the oldest second leaves the window
            buckets[i] = 0
        dm.vats_idx = i
    dm.vats_bucket_ms = bucket_ms
    if vats_sum and eyes_on_ms >= settings.vats_reset_ms:
        for i in range(_BUCKETS):
            buckets[i] = 0
        vats_sum = 0
    dm.vats_sum_ms = vats_sum
    # attention for the high-sensitivity hold
    if eyes_on and dm.fresh and dm.top_level == _NONE:
        if dm.attentive_ms < _ATTENTIVE_CAP_MS:  # stays a small int however long the drive
            dm.attentive_ms += dt
    else:
        dm.attentive_ms = 0

def _levels(dm, settings, eyes_on, fresh):
    """Every cause's level from the durations, and what follows from them; returns whether
    high sensitivity holds. eyes_on and fresh: the inputs update() has just set."""
    level = _NONE
    off_ms = dm.hands_off_ms
    if off_ms > 0:
        due = settings.hands_off_request_ms
        if eyes_on:
            due += settings.hands_off_eyes_on_extra_ms
        req_at = dm.hands_req_at
        if req_at < 0 and off_ms >= due:
            req_at = dm.hands_req_at = off_ms
        if req_at >= 0:
            level = ladder(off_ms - req_at, settings.hands_off_escalate_ms, settings)
    dm.hands_level = level
    top = level
    level = _NONE
    off_ms = dm.eyes_off_ms
    if off_ms > 0:
        req_at = dm.eyes_req_at
        if req_at < 0 and off_ms >= settings.eyes_off_request_ms:
            req_at = dm.eyes_req_at = off_ms
        if req_at >= 0:
            level = ladder(off_ms - req_at, settings.eyes_off_escalate_ms, settings)
    dm.eyes_level = level
    if level > top:
        top = level
    c = dm.closed_ms
    if c >= settings.unresponsive_closed_ms:
        level = _EMERGENCY
    elif c >= settings.sleep_ms:
        level = _TAKEOVER
    elif c >= settings.microsleep_ms:
        level = _WARNING
    else:
        level = _NONE
    dm.drowsy_level = level
    if level > top:
        top = level
    level = _NONE
    if dm.vats_sum_ms >= settings.vats_limit_ms:
        back = eyes_on and dm.eyes_on_ms >= settings.attention_restore_ms  # attention restored
        if not back:
            level = _WARNING
    dm.vats_level = level
    if level > top:
        top = level
    # A terminal alert is an episode reaching TAKEOVER (however many causes got there);
    # enough of them lock assistance out.
    if top >= _TAKEOVER > dm.top_level:
        dm.terminal += 1
        if dm.terminal >= settings.lockout_after_n:
            dm.locked_out = True
    dm.top_level = top
    attentive_ms = dm.attentive_ms
    if attentive_ms and (top > _NONE or not eyes_on or not fresh):
        attentive_ms = dm.attentive_ms = 0
    high_sensitivity = attentive_ms < settings.hs_hold_ms
    dm.high_sensitivity = high_sensitivity
    return high_sensitivity

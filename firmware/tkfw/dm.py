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


def ladder(since_ms, escalate_ms, settings):
    """Level of a hands-off or eyes-off request raised since_ms ago (>= 0)."""
    if since_ms < escalate_ms:
        return alerts.NOTICE
    since_ms -= escalate_ms
    if since_ms >= settings.dm_mrm_ms:
        return alerts.EMERGENCY
    if since_ms >= settings.dm_takeover_ms:
        return alerts.TAKEOVER
    return alerts.WARNING


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
        self.hands_level = alerts.NONE
        self.eyes_level = alerts.NONE
        self.drowsy_level = alerts.NONE
        self.vats_level = alerts.NONE
        self.top_level = alerts.NONE  # highest driver-monitor level at the last update
        self.terminal = 0  # episodes that reached TAKEOVER this drive
        self.locked_out = False
        self.high_sensitivity = False
        self.status = 0  # dm_flags for STATUS

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
        if dt:
            self._advance(dt, settings)
        # -- the inputs from now on
        flags = self.flags
        fresh = self.have_frame and ticks_diff(t_ms, self.frame_t_ms) <= settings.driver_stale_ms
        if fresh:
            closed = flags & schema.DRIVER_EYES_CLOSED != 0
            self.hands = pin_hands_on or flags & schema.DRIVER_HANDS_ON != 0
            self.closed = closed
            self.eyes_on = flags & schema.DRIVER_EYES_ON_ROAD != 0 and not closed
            self.engaged = flags & schema.DRIVER_ENGAGED != 0
        else:  # unknown: not attentive, and assume assistance is engaged
            self.hands = pin_hands_on
            self.closed = False
            self.eyes_on = False
            self.engaged = True
        self.fresh = fresh
        self._levels(settings)
        status = 0
        if self.hands:
            status |= HANDS_ON
        if self.eyes_on:
            status |= EYES_ON_ROAD
        if self.closed:
            status |= EYES_CLOSED
        if fresh:
            status |= FRESH
        if self.engaged:
            status |= ENGAGED
        if self.high_sensitivity:
            status |= HIGH_SENSITIVITY
        if self.locked_out:
            status |= LOCKED_OUT
        if pin_hands_on:
            status |= PIN_HANDS_ON
        self.status = status

    def _advance(self, dt, settings):
        """Credit dt ms to the inputs that held during it."""
        restore = settings.attention_restore_ms
        # hands on the wheel (only asked for while assistance is engaged)
        if self.hands or not self.engaged:
            self.hands_on_ms += dt
            if self.hands_on_ms >= restore or not self.engaged:
                self.hands_off_ms = 0
                self.hands_req_at = -1
        else:
            self.hands_on_ms = 0
            self.hands_off_ms += dt
        # gaze on the road (closed eyes are off the road too)
        eyes_on = self.eyes_on
        if eyes_on:
            self.eyes_on_ms += dt
            if self.eyes_on_ms >= restore:
                self.eyes_off_ms = 0
                self.eyes_req_at = -1
        else:
            self.eyes_on_ms = 0
            self.eyes_off_ms += dt
        # eyes closed
        if self.closed:
            self.open_ms = 0
            self.closed_ms += dt
        else:
            self.open_ms += dt
            if self.open_ms >= restore:
                self.closed_ms = 0
        # visual attention time sharing: eyes-off time in a sliding window of 1 s buckets
        buckets = self.vats_buckets
        if not eyes_on:
            buckets[self.vats_idx] += dt
            self.vats_sum_ms += dt
        self.vats_bucket_ms += dt
        n = settings.vats_window_ms // _BUCKET_MS
        while self.vats_bucket_ms >= _BUCKET_MS:  # once per second of frame time
            self.vats_bucket_ms -= _BUCKET_MS
            i = self.vats_idx + 1
            if i >= n:
                i = 0
            self.vats_idx = i
            self.vats_sum_ms -= buckets[i]  # the oldest second leaves the window
            buckets[i] = 0
        if self.eyes_on_ms >= settings.vats_reset_ms and self.vats_sum_ms:
            for i in range(_BUCKETS):
                buckets[i] = 0
            self.vats_sum_ms = 0
        # attention for the high-sensitivity hold
        if eyes_on and self.fresh and self.top_level == alerts.NONE:
            if self.attentive_ms < _ATTENTIVE_CAP_MS:  # stays a small int however long the drive
                self.attentive_ms += dt
        else:
            self.attentive_ms = 0

    def _levels(self, settings):
        """Every cause's level from the durations, and what follows from them."""
        level = alerts.NONE
        if self.hands_off_ms > 0:
            due = settings.hands_off_request_ms
            if self.eyes_on:
                due += settings.hands_off_eyes_on_extra_ms
            if self.hands_req_at < 0 and self.hands_off_ms >= due:
                self.hands_req_at = self.hands_off_ms
            if self.hands_req_at >= 0:
                level = ladder(self.hands_off_ms - self.hands_req_at, settings.hands_off_escalate_ms, settings)
        self.hands_level = level
        level = alerts.NONE
        if self.eyes_off_ms > 0:
            if self.eyes_req_at < 0 and self.eyes_off_ms >= settings.eyes_off_request_ms:
                self.eyes_req_at = self.eyes_off_ms
            if self.eyes_req_at >= 0:
                level = ladder(self.eyes_off_ms - self.eyes_req_at, settings.eyes_off_escalate_ms, settings)
        self.eyes_level = level
        c = self.closed_ms
        if c >= settings.unresponsive_closed_ms:
            level = alerts.EMERGENCY
        elif c >= settings.sleep_ms:
            level = alerts.TAKEOVER
        elif c >= settings.microsleep_ms:
            level = alerts.WARNING
        else:
            level = alerts.NONE
        self.drowsy_level = level
        back = self.eyes_on and self.eyes_on_ms >= settings.attention_restore_ms  # attention restored
        if self.vats_sum_ms >= settings.vats_limit_ms and not back:
            self.vats_level = alerts.WARNING
        else:
            self.vats_level = alerts.NONE
        # A terminal alert is an episode reaching TAKEOVER (however many causes got there);
        # enough of them lock assistance out.
        top = self.hands_level
        if self.eyes_level > top:
            top = self.eyes_level
        if self.drowsy_level > top:
            top = self.drowsy_level
        if self.vats_level > top:
            top = self.vats_level
        if top >= alerts.TAKEOVER > self.top_level:
            self.terminal += 1
            if self.terminal >= settings.lockout_after_n:
                self.locked_out = True
        self.top_level = top
        if top > alerts.NONE or not self.eyes_on or not self.fresh:
            self.attentive_ms = 0
        self.high_sensitivity = self.attentive_ms < settings.hs_hold_ms

    def request(self, arbiter, t_ms, hold_ms):
        """Hand every driver-monitor cause's level to the arbiter."""
        arbiter.request(alerts.CAUSE_HANDS_OFF, self.hands_level, t_ms, hold_ms)
        arbiter.request(alerts.CAUSE_EYES_OFF, self.eyes_level, t_ms, hold_ms)
        arbiter.request(alerts.CAUSE_DROWSY, self.drowsy_level, t_ms, hold_ms)
        arbiter.request(alerts.CAUSE_VATS, self.vats_level, t_ms, hold_ms)
        arbiter.request(alerts.CAUSE_LOCKOUT, alerts.NOTICE if self.locked_out else alerts.NONE, t_ms, hold_ms)

    def reaction_ms(self, settings):
        """The driver reaction time the collision rows assume now."""
        return settings.reaction_distracted_ms if self.high_sensitivity else settings.reaction_ms

"""Threat assessment over radar frames, in integer units (mm, mm/s, mm/s^2, ms).

Per frame, for every in-path target closing faster than closing_min: in path means within the
lane half width of the predicted path, which bends with the ego's yaw rate (curvature = yaw rate /
speed: the path's offset at range x is x^2 / 2R), and not a structure above the road (a stationary
reflection at least overhead_height above it: a bridge, a gantry, a sign). Then:
- TTC = range / closing speed;
- enhanced TTC: the positive root of gap = v t + a t^2 / 2 with the relative acceleration `a`
  (closing positive) estimated per track id from range-rate changes across frames; no positive
  root means no collision (NO_TTC). Computed as 2 gap / (v + sqrt(v^2 + 2 a gap)) (openpilot's
  legacy form), which stays exact for braking and accelerating leads alike;
- required deceleration to stop stop_margin short of it, a_req = v^2 / (2 (gap - margin)), both
  for immediate braking and for a driver who first reacts for reaction_s (the gap shrinks by
  v * t_r first). A gap already used up reads A_IMPOSSIBLE. For the driver, also behind a lead
  that brakes (relative deceleration at least 2.5 m/s^2): the ego must stop short of where the
  lead will stop, v_ego^2 / (2 (gap + v_lead^2 / 2 a_lead - margin - v_ego * t_r)), which a
  lead braking hard at a short headway makes urgent long before its closing speed does.
Its level is the more severe of the TTC rows and the deceleration rows (tkfw.settings), and
WARNING or higher only once the track met it on confirm_frames consecutive frames (a one-frame
ghost cannot warn). The threat is the closest such target; the current one is kept unless another
is switch_margin closer, so two similar targets do not flicker.

A frame is taken in two halves so an alert waits only for what decides it: decide()
finds the threat in one cheap pass (in path, closing, closest) and works out that one target's
figures from its history; track() then updates every target's history (acceleration, confirmation
count), which costs several times more and is done after the ALERT has been written.

Units and small ints: squares are taken in cm/s and cm (closing clamped to 100 m/s, so v^2 <= 1e8
and 5 v^2 < 2**30); every product below names its bound. Targets are read straight from the
decoder's int32 view (tkfw.schema TARGET_FIELDS: id, range mm, range_rate mm/s, lateral mm) and
per-track history lives in lists made once here, so nothing is allocated per frame.
"""

from tkfw import alerts, schema
from tkfw.compat import const, ticks_diff

NO_TTC = const(-1)
A_IMPOSSIBLE = const(1000000)  # mm/s^2 (100 g): "cannot stop in the gap left", above any threshold
_TTC_CAP_MS = const(60000)  # beyond a minute a TTC means nothing; also keeps products small
_V_MAX_MM_S = const(100000)  # closing clamp (360 km/h): (v in cm/s)^2 * 5 < 2**30
_A_MAX_MM_S2 = const(15000)  # relative-acceleration clamp (1.5 g): beyond that it is radar noise
_A_DEAD_MM_S2 = const(300)  # |a| below this is range-rate noise (0.12 m/s over ~0.4 s): plain TTC
ACCEL_DEAD_MM_S2 = const(300)  # the same, for the tests' oracle
_GAP_EXACT_CM = const(200000)  # enhanced TTC up to 2 km: 2 * 1500 cm/s^2 * 2e5 cm + 1e8 < 2**30
_DT_MAX_MS = const(500)  # frames further apart than this forget a track's history
# The relative acceleration is low-passed over about this many frames: new = old + (raw - old) / N.
# One raw estimate carries 3.4 m/s^2 of noise from 0.12 m/s range-rate noise over 50 ms; four
# frames leave 1.3 m/s^2, which the enhanced TTC needs: two left 2.0 m/s^2, and a 1.7 m/s^2
# swing once made a car 21 m ahead closing at 3 m/s read TTC 3.5 s (a WARNING in a benign drive,
# takeover evidence). The braking-lead rule reads a faster estimate beside it (see there).
ACCEL_LAG = const(4)
_T_MASK = const(0x3FFFFFFF)  # frame time t_ms wraps at 2**30
_ROOT_MAX = const(32767)  # largest root of a small int; its square is still one
_SLOTS = const(128)  # track table size: a power of two >= 2 x MAX_TARGETS keeps probes short
# The predicted path. Below this ego speed the yaw rate says little about where the car goes
# (and R = v / yaw shrinks to nothing): the path is taken straight.
_CURVE_MIN_MM_S = const(1000)
_RADIUS_MIN_MM = const(10000)  # tighter than any road; keeps x^2 / R small (9e8 / 1e4 * 50 < 2**30)
_PATH_X_MAX_CM = const(30000)  # ranges beyond 300 m are taken as 300 m: (3e4)^2 = 9e8 < 2**30
# A reflection counts as a structure above the road only while it stands still: ground speed
# (ego speed + range rate) within this of 0. Range rate and ego speed each err by ~0.1 m/s.
_STATIONARY_MM_S = const(1000)
# The braking-lead rule: a lead is braking when the fast estimate of its deceleration (the
# closing speed's change over the last two frames: 1.7 m/s^2 of noise from 0.12 m/s range-rate
# noise over 100 ms, and none of a low pass's lag, so a lead braking at a constant rate is read
# right from its second frame of braking) is at least _A_LEAD_MIN and the low-passed one at least
# _A_LEAD_SLOW_MIN (it has gone on for more than a frame: one noisy frame is not enough). Gentle
# slowing, up to about 1 m/s^2, stays with the closing-speed rule alone. The mean of the
# low-passed estimate and this frame's raw one, used before, still read a lead braking at
# 5.1 m/s^2 as 3.2 on its second frame, and two drives in 378 warned a frame late (evidence).
_A_LEAD_MIN_MM_S2 = const(2500)
_A_LEAD_SLOW_MIN_MM_S2 = const(1000)
A_LEAD_MIN_MM_S2 = const(2500)  # the same two, for the tests' oracle
A_LEAD_SLOW_MIN_MM_S2 = const(1000)
if (A_LEAD_MIN_MM_S2, A_LEAD_SLOW_MIN_MM_S2, ACCEL_DEAD_MM_S2) != (_A_LEAD_MIN_MM_S2, _A_LEAD_SLOW_MIN_MM_S2,
                                                                  _A_DEAD_MM_S2):
    raise ImportError("tkfw.ttc: public copies out of step")
_SLOT_MASK = const(127)

_MAX_TARGETS = const(64)
# tkfw.alerts levels as this module's own constants: the compiler folds these into the code, where
# a name read from another module is a dictionary lookup at every use (about 3 us on the board).
_NONE = const(0)
_NOTICE = const(1)
_WARNING = const(2)
_TAKEOVER = const(3)
_EMERGENCY = const(4)

if (schema.MAX_TARGETS != _MAX_TARGETS or _MAX_TARGETS * 2 > _SLOTS
        or (alerts.NONE, alerts.NOTICE, alerts.WARNING, alerts.TAKEOVER, alerts.EMERGENCY)
        != (_NONE, _NOTICE, _WARNING, _TAKEOVER, _EMERGENCY)):
    raise ImportError("tkfw.ttc constants out of step with tkfw.schema / tkfw.alerts")


def isqrt(n):
    """floor(sqrt(n)) for 0 <= n < 2**30, integers only (Newton from above)."""
    if n < 2:
        return n
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


def _isqrt_near(n, guess):
    """floor(sqrt(n)) starting from a guess >= sqrt(n): a few steps when the guess is close."""
    if n < 2:
        return n
    x = guess
    if x * x < n:  # not from above: fall back (x <= 32767 here, so x*x < 2**30)
        return isqrt(n)
    y = (x + n // x) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


def a_req(closing_mm_s, gap_mm, reaction_ms, margin_mm):
    """Deceleration (mm/s^2) that stops a closing speed within gap - margin after reaction_ms.

    A_IMPOSSIBLE when the reaction alone uses up the gap.
    """
    v = closing_mm_s
    if v > _V_MAX_MM_S:
        v = _V_MAX_MM_S
    if v <= 0:
        return 0
    left_mm = gap_mm - margin_mm - v * reaction_ms // 1000  # v * t_r <= 1e5 * 3000 = 3e8
    left_cm = left_mm // 10
    if left_cm <= 0:
        return A_IMPOSSIBLE
    v_cm = v // 10
    a = v_cm * v_cm * 5 // left_cm  # v^2 / (2 d) in cm -> mm/s^2 is * 10 / 2; 5 * 1e8 < 2**30
    return A_IMPOSSIBLE if a > A_IMPOSSIBLE else a


def a_req_behind_lead(ego_mm_s, closing_mm_s, accel_mm_s2, slow_mm_s2, gap_mm, reaction_ms, margin_mm):
    """Deceleration (mm/s^2) that stops the ego, after reaction_ms, margin short of where a lead
    braking at accel_mm_s2 (the fast estimate of the relative deceleration, closing positive)
    will stop; 0 when the lead is not braking (the fast estimate below _A_LEAD_MIN_MM_S2 or the
    low-passed one, slow_mm_s2, below _A_LEAD_SLOW_MIN_MM_S2) or not moving forward."""
    if accel_mm_s2 < _A_LEAD_MIN_MM_S2 or slow_mm_s2 < _A_LEAD_SLOW_MIN_MM_S2 or ego_mm_s <= closing_mm_s:
        return 0
    if ego_mm_s > _V_MAX_MM_S:
        ego_mm_s = _V_MAX_MM_S
    lead_cm = (ego_mm_s - closing_mm_s) // 10
    left_cm = (gap_mm - margin_mm - ego_mm_s * reaction_ms // 1000) // 10 + lead_cm * lead_cm * 5 // accel_mm_s2
    if left_cm <= 0:
        return A_IMPOSSIBLE
    ego_cm = ego_mm_s // 10
    a = ego_cm * ego_cm * 5 // left_cm  # 5 * 1e8 < 2**30, as in a_req
    return A_IMPOSSIBLE if a > A_IMPOSSIBLE else a


def enhanced_ttc(gap_mm, closing_mm_s, accel_mm_s2, ttc_ms):
    """TTC (ms) with a constant relative acceleration (closing positive); NO_TTC if no collision.

    ttc_ms is the plain TTC of the same target, returned while |accel| is within the noise band
    or the gap is beyond 2 km.
    """
    if -_A_DEAD_MM_S2 < accel_mm_s2 < _A_DEAD_MM_S2 or closing_mm_s <= 0:
        return ttc_ms
    gap_cm = gap_mm // 10
    if gap_cm > _GAP_EXACT_CM:
        return ttc_ms
    v = (closing_mm_s if closing_mm_s < _V_MAX_MM_S else _V_MAX_MM_S) // 10  # cm/s
    a = accel_mm_s2 // 10  # cm/s^2, |a| <= 1500
    k = 2 * a * gap_cm  # |k| <= 6e8
    disc = v * v + k
    if disc < 0:
        return NO_TTC  # the closing stops before the gap does: no positive root
    guess = v + 1 if k <= 0 else v + k // (2 * v) + 1  # sqrt(v^2 + k) <= v + k / 2v
    if guess > _ROOT_MAX:  # disc < 2**30, so its root is at most 32767
        guess = _ROOT_MAX
    den = v + _isqrt_near(disc, guess)
    if den <= 0:
        return NO_TTC
    num = 2 * gap_cm  # t = 2 gap / (v + sqrt(disc)) in s; * 1000 split to stay small
    t = (num // den) * 1000 + (num % den) * 1000 // den
    return _TTC_CAP_MS if t > _TTC_CAP_MS else t


def level_for(ttc_ms, settings):
    """The collision alert level a TTC calls for (thresholds from the settings object)."""
    if ttc_ms < 0:
        return _NONE
    if ttc_ms <= settings.ttc_emergency_ms:
        return _EMERGENCY
    if ttc_ms <= settings.ttc_takeover_ms:
        return _TAKEOVER
    if ttc_ms <= settings.ttc_warning_ms:
        return _WARNING
    if ttc_ms <= settings.ttc_notice_ms:
        return _NOTICE
    return _NONE


def level_with_decel(ttc_level, a_now_mm_s2, a_driver_mm_s2, settings):
    """Raise a TTC level by the required-deceleration rows (either criterion raises it)."""
    level = ttc_level
    if a_now_mm_s2 >= settings.decel_emergency_mm_s2:
        return _EMERGENCY
    if a_driver_mm_s2 >= settings.decel_takeover_mm_s2:
        if level < _TAKEOVER:
            level = _TAKEOVER
    elif a_driver_mm_s2 >= settings.decel_warning_mm_s2:
        if level < _WARNING:
            level = _WARNING
    return level


def path_radius_mm(yaw_mrad_s, ego_mm_s):
    """Signed radius (mm, left positive) of the path the ego is on: v / yaw rate; 0 for a
    straight path (no yaw rate, or too slow for it to mean anything). Bounded both ways so the
    path offset (x_cm^2 // R) * 50 stays a small int."""
    if yaw_mrad_s == 0 or ego_mm_s < _CURVE_MIN_MM_S:
        return 0
    if ego_mm_s > _V_MAX_MM_S:
        ego_mm_s = _V_MAX_MM_S
    radius = ego_mm_s * 1000 // yaw_mrad_s  # <= 1e8
    if -_RADIUS_MIN_MM < radius < _RADIUS_MIN_MM:
        radius = _RADIUS_MIN_MM if radius >= 0 else -_RADIUS_MIN_MM
    return radius


def path_offset_mm(range_mm, radius_mm):
    """Lateral offset (mm, left positive) of the predicted path at range_mm: x^2 / 2R, within
    50 mm (x in cm: (x_cm^2 // R) * 50, every product below 2**30); radius_mm != 0."""
    x_cm = range_mm // 10
    if x_cm > _PATH_X_MAX_CM:
        x_cm = _PATH_X_MAX_CM
    elif x_cm < 0:
        x_cm = 0
    return (x_cm * x_cm // radius_mm) * 50


class _Tracks:
    """Per-track history of one frame: open addressing on the track id, made once.

    Two of these alternate (this frame, previous frame), so a slot is free unless stamped with the
    frame number and nothing is ever cleared. A track missing from one frame loses its history.
    Every slot of a frame holds that frame's time, so the time is kept once (Threat._t_ms), not
    per slot. The probing is inlined where it is used: a method call per target cost more than
    the lookup.
    """

    def __init__(self):
        # Lists, not arrays: reading or storing a small int in a list is a plain word copy, in
        # an array a conversion each way; both are made once and storing allocates nothing.
        self.ids = [0] * _SLOTS
        self.stamp = [-1] * _SLOTS  # frame number the slot belongs to
        self.rate = [0] * _SLOTS  # range rate, mm/s (closing speed negated: the radar's own sign)
        self.accel = [0] * _SLOTS  # mm/s^2, low-passed, closing positive
        self.hits = [0] * _SLOTS  # consecutive frames at WARNING or above
        self.range = [0] * _SLOTS  # mm, stored for in-path tracks only (what a jump is measured on)


class Threat:
    """Result of the last assessment; attributes are ints so updating them never allocates."""

    def __init__(self):
        # This frame's, the last frame's and the one before (the fast estimate reads two frames
        # back); three tables rotate, so nothing is copied and no track pays for a longer history.
        self._cur = _Tracks()
        self._prev = _Tracks()
        self._old = _Tracks()
        self.reset()

    def reset(self):
        """Forget every track and the threat (a new drive); nothing is allocated."""
        for tracks in (self._cur, self._prev, self._old):
            stamp = tracks.stamp
            for i in range(_SLOTS):
                stamp[i] = -1
        self._gen = 0
        self._tracked = False  # whether _cur holds a frame (track() ran since the reset)
        self._t_ms = 0  # that frame's time
        self._dt_ms = 0  # time from the frame before it to it; 0: _prev is no history of _cur
        self._decided_gen = -1  # _gen when decide() last chose a threat: track() may reuse its level
        self._decided_w = -1  # that threat's record (first word)
        self.target_id = -1
        self.range_mm = 0
        self.closing_mm_s = 0
        self.ttc_ms = NO_TTC  # plain TTC of the threat (what ALERT / STATUS report)
        self.ettc_ms = NO_TTC  # enhanced TTC of the threat
        self.accel_mm_s2 = 0  # its estimated relative acceleration, closing positive
        self.a_now_mm_s2 = 0  # its required deceleration braking now
        self.a_driver_mm_s2 = 0  # ... braking after the assumed reaction time
        self.reaction_ms = 0  # the reaction time assumed this frame
        self.raw_level = _NONE  # the level its figures call for
        self.level = _NONE  # after multi-frame confirmation
        # The brake request once raised (hold_brake): held, and since when nothing has closed in.
        self.brake_hold = False
        self.clearing = False
        self.clear_since_ms = 0
        # Scratch results of _level_of (ints, so setting them allocates nothing).
        self._ttc = NO_TTC
        self._ettc = NO_TTC
        self._a_now = 0
        self._a_driver = 0

    def assess(self, words, first_word, count, settings, t_ms=0, reaction_ms=-1, heights=-1, radius_mm=0, ego_mm_s=0):
        """One frame, whole: decide() then track(); return the threat's plain TTC.

        The firmware calls the two halves itself, with the ALERT sent in between (tkfw.app).
        """
        self.decide(words, first_word, count, settings, t_ms, reaction_ms, heights, radius_mm, ego_mm_s)
        self.track(words, first_word, count, settings, t_ms, heights, radius_mm, ego_mm_s)
        return self.ttc_ms

    def decide(self, words, first_word, count, settings, t_ms=0, reaction_ms=-1, heights=-1, radius_mm=0,
               ego_mm_s=0):
        """The threat in `count` target records from words[first_word], and its confirmed level.

        What an alert waits for, so it is kept short: one pass over the records that only asks
        "in path, closing, closest?", then the chosen target's figures from its history as of the
        previous frame. The track tables are left as they are; track() brings them up to date.
        reaction_ms: the driver reaction the deceleration rows assume (tkfw.dm: longer while the
        driver is distracted); -1 means settings.reaction_ms. heights: the word of the first
        record's height (the heights block; -1: none). radius_mm: the predicted path's
        (path_radius_mm; 0 straight). ego_mm_s: the ego's speed (what "stationary" is measured
        against).
        """
        half_width = settings.lane_half_width_mm
        neg_half_width = -half_width
        # In path: closing (-range_rate) at least closing_min, i.e. range_rate <= -closing_min.
        # Tested unclamped, which decides the same as the clamped value track() keeps, since
        # 0 < closing_min <= _V_MAX_MM_S.
        max_rate = -settings.closing_min_mm_s
        reaction = reaction_ms if reaction_ms >= 0 else settings.reaction_ms
        self.reaction_ms = reaction
        incumbent = self.target_id
        # The closest in-path record so far and the incumbent's, if it is still in path this frame.
        best_range = -1
        best_w = -1
        inc_range = -1
        inc_w = -1
        # w walks the records' lateral words (record + 3): most records are in the lanes beside,
        # and this loop is run for every one of them, so it does the least it can for those.
        # Two loops, one per path shape: a test of the shape per record would cost the straight
        # path (every frame from a host that sends no yaw rate) about a microsecond a record.
        # A record's height is words[heights + j] for record j = (w - first_word) >> 2, read only
        # for a record in the path: a stationary reflection that high is a bridge or a gantry,
        # which the car passes under.
        end = first_word + 3 + 4 * count
        if radius_mm == 0:
            for w in range(first_word + 3, end, 4):
                lateral = words[w]
                # Two plain tests, not a chained one (a chain costs a stack shuffle per record, the
                # commonest cost here: about a microsecond a record on the board).
                if lateral <= half_width and lateral >= neg_half_width and words[w - 1] <= max_rate:
                    if heights >= 0 and words[heights + ((w - first_word) >> 2)] >= settings.overhead_height_mm:
                        ground = ego_mm_s + words[w - 1]
                        if ground < _STATIONARY_MM_S and ground > -_STATIONARY_MM_S:
                            continue
                    rng = words[w - 2]
                    if rng < 0:  # already overlapping: as close as it gets
                        rng = 0
                    if words[w - 3] == incumbent:
                        inc_range = rng
                        inc_w = w - 3
                    if best_range < 0 or rng < best_range:
                        best_range = rng
                        best_w = w - 3
        else:
            # On a curve the path's offset depends on the range: it is worked out only for the
            # records that close in, so the closing test comes first here (path_offset_mm,
            # inlined: a call per record costs more than its arithmetic).
            for w in range(first_word + 3, end, 4):
                if words[w - 1] <= max_rate:
                    rng = words[w - 2]
                    if rng < 0:
                        rng = 0
                    x_cm = rng // 10
                    if x_cm > _PATH_X_MAX_CM:
                        x_cm = _PATH_X_MAX_CM
                    lateral = words[w] - (x_cm * x_cm // radius_mm) * 50
                    if lateral <= half_width and lateral >= neg_half_width:
                        if heights >= 0 and words[heights + ((w - first_word) >> 2)] >= settings.overhead_height_mm:
                            ground = ego_mm_s + words[w - 1]
                            if ground < _STATIONARY_MM_S and ground > -_STATIONARY_MM_S:
                                continue
                        if words[w - 3] == incumbent:
                            inc_range = rng
                            inc_w = w - 3
                        if best_range < 0 or rng < best_range:
                            best_range = rng
                            best_w = w - 3
        # Keep the current threat unless another in-path target is clearly (switch margin) closer.
        if inc_w >= 0 and best_range >= inc_range - settings.switch_margin_mm:
            best_range = inc_range
            best_w = inc_w
        if best_w < 0:
            self.target_id = -1
            self.range_mm = -1
            self.closing_mm_s = 0
            self.accel_mm_s2 = 0
            self.ttc_ms = NO_TTC
            self.ettc_ms = NO_TTC
            self.a_now_mm_s2 = 0
            self.a_driver_mm_s2 = 0
            self.raw_level = _NONE
            self.level = _NONE
            self._decided_w = -1
            return NO_TTC
        tid = words[best_w]
        closing = -words[best_w + 2]
        if closing > _V_MAX_MM_S:  # in path, so closing at least closing_min > 0
            closing = _V_MAX_MM_S
        # Its history in the last frame's table, updated with this frame's closing speed (what
        # track() will record); 0 and 0 for a new track.
        accel = 0
        fast = 0
        hits = 0
        dt = ticks_diff(t_ms, self._t_ms) if self._tracked else 0  # wrap-safe; backwards is <= 0
        if 0 < dt <= _DT_MAX_MS:
            tracks = self._cur
            stamp = tracks.stamp
            ids = tracks.ids
            gen = self._gen
            p = tid & _SLOT_MASK
            while stamp[p] == gen:
                if ids[p] == tid:
                    # The relative acceleration (closing positive), low-passed (ACCEL_LAG) from this
                    # frame's raw estimate, and the braking-lead rule's fast estimate from both.
                    before = tracks.accel[p]
                    raw = (closing + tracks.rate[p]) * 1000 // dt  # |diff| <= 2e5: 2e8
                    if raw > _A_MAX_MM_S2:
                        raw = _A_MAX_MM_S2
                    elif raw < -_A_MAX_MM_S2:
                        raw = -_A_MAX_MM_S2
                    accel = before + (raw - before) // ACCEL_LAG
                    # The fast estimate: over two frames when the track was in the frame before
                    # the last too (the table before the last; see the braking-lead rule). The
                    # rule reads it only while the low-passed estimate is up, so only then is it
                    # worked out: a steady track pays nothing for it.
                    if accel >= _A_LEAD_SLOW_MIN_MM_S2:
                        dt_old = self._dt_ms  # the table before the last: _prev, one frame older
                        fast = _fast_estimate(self._prev, (gen - 1) & _T_MASK if dt_old else -2, tid, closing,
                                              dt + dt_old, raw)
                    hits = tracks.hits[p]
                    # A track whose range moved other than its closing speed says is not one
                    # object (a multipath ghost, two reflections swapping ids): its count restarts.
                    if hits:
                        off = tracks.range[p] - best_range - closing * dt // 1000  # <= 1e5 * 500: small
                        if off > settings.track_jump_mm or off < -settings.track_jump_mm:
                            hits = 0
                    break
                p = (p + 1) & _SLOT_MASK
        level = _level_of(self, best_range, closing, accel, reaction, settings.stop_margin_mm, settings, ego_mm_s, fast)
        self._decided_gen = self._gen  # track() of this frame reuses the level (see there)
        self._decided_w = best_w
        self.target_id = tid
        self.range_mm = best_range
        self.closing_mm_s = closing
        self.accel_mm_s2 = accel
        self.ttc_ms = self._ttc
        self.ettc_ms = self._ettc
        self.a_now_mm_s2 = self._a_now
        self.a_driver_mm_s2 = self._a_driver
        self.raw_level = level
        # Frames in a row at WARNING or above, this one included (what track() will record).
        if level >= _WARNING:
            if hits + 1 < settings.confirm_n:
                level = _NOTICE  # not confirmed yet: show it, do not sound it
            elif level == _EMERGENCY and hits + 1 < settings.brake_confirm_n:
                level = _TAKEOVER  # a brake request needs a longer, consistent track: no phantom braking
        self.level = level
        return self.ttc_ms

    def track(self, words, first_word, count, settings, t_ms=0, heights=-1, radius_mm=0, ego_mm_s=0):
        """Bring every target's history up to this frame (after decide(), with the same frame).

        Per track id: range rate, low-passed relative acceleration, and how many frames in a
        row it was in path at WARNING or above (the confirmation count). Done after the alert has
        gone out: it costs more than the decision and changes nothing in it. It runs for every
        target of every frame, so the loop reads each table into a local once and inlines what
        it calls (a call per target costs more than the arithmetic).
        """
        half_width = settings.lane_half_width_mm
        neg_half_width = -half_width
        max_rate = -settings.closing_min_mm_s  # in path: closing at least closing_min
        margin = settings.stop_margin_mm
        reaction = self.reaction_ms
        # Every slot of a table holds the same frame's time, so whether the previous frame's
        # history is recent enough to use is one test for every track alike.
        dt = ticks_diff(t_ms, self._t_ms) if self._tracked else 0  # wrap-safe; backwards is <= 0
        if not 0 < dt <= _DT_MAX_MS:
            dt = 0  # no track has a history this frame
        dt_old = self._dt_ms  # the last frame's own dt: 0 when the frame before it is no history
        self._dt_ms = dt
        self._tracked = True
        self._t_ms = t_ms
        # decide() worked out the raw level of the threat's record of this frame (same figures:
        # same history, reaction, settings), so that record's is not worked out again.
        decided_w = self._decided_w if self._decided_gen == self._gen else -1
        # Rotate the history tables (three names: no tuple is built); the oldest is reused.
        prev = self._cur
        old = self._prev
        cur = self._old
        self._old = old
        self._prev = prev
        self._cur = cur
        prev_gen = self._gen
        gen = (prev_gen + 1) & _T_MASK
        self._gen = gen
        if not dt:
            # No history this frame: a stamp no slot ever holds (slots hold -1 or a frame number)
            # ends every lookup in the previous table at once, with no test of dt per target.
            prev_gen = -2
        if count > _MAX_TARGETS:  # the tables hold 2 x MAX_TARGETS ids
            count = _MAX_TARGETS
        ids = cur.ids
        stamp = cur.stamp
        rates = cur.rate
        accels = cur.accel
        hits_now = cur.hits
        p_ids = prev.ids
        p_stamp = prev.stamp
        p_rates = prev.rate
        p_accels = prev.accel
        p_hits = prev.hits
        p_ranges = prev.range
        ranges = cur.range
        jump_mm = settings.track_jump_mm
        for w in range(first_word, first_word + 4 * count, 4):
            tid = words[w]
            # The range rate as the radar gives it, closing negative: negated only for a target
            # in path, which is the only one whose closing speed is used (an operation per
            # record costs about a microsecond on the board).
            rate = words[w + 2]
            if rate < -_V_MAX_MM_S:
                rate = -_V_MAX_MM_S
            elif rate > _V_MAX_MM_S:
                rate = _V_MAX_MM_S
            # Its slot this frame (open addressing; the same slot again for a repeated id).
            slot = p = tid & _SLOT_MASK  # p: its home slot in the previous table, below
            while stamp[slot] == gen and ids[slot] != tid:
                slot = (slot + 1) & _SLOT_MASK
            stamp[slot] = gen
            ids[slot] = tid
            # Its history: the previous frame's slot, if it was there (found: -1 when not).
            accel = 0
            raw = 0
            found = -1
            while p_stamp[p] == prev_gen:
                if p_ids[p] == tid:
                    # the low-passed relative acceleration, as in decide()
                    accel = p_accels[p]
                    raw = (p_rates[p] - rate) * 1000 // dt  # closing - previous closing; |diff| <= 2e5: 2e8
                    if raw > _A_MAX_MM_S2:
                        raw = _A_MAX_MM_S2
                    elif raw < -_A_MAX_MM_S2:
                        raw = -_A_MAX_MM_S2
                    accel += (raw - accel) // ACCEL_LAG
                    found = p
                    break
                p = (p + 1) & _SLOT_MASK
            rates[slot] = rate
            accels[slot] = accel
            # The confirmation count is read only for a target in path: the rest restart at 0.
            hits = 0
            if rate <= max_rate:
                lateral = words[w + 3]
                if radius_mm:  # on a curve: against the predicted path (path_offset_mm, inlined)
                    x_cm = words[w + 1] // 10
                    if x_cm > _PATH_X_MAX_CM:
                        x_cm = _PATH_X_MAX_CM
                    elif x_cm < 0:
                        x_cm = 0
                    lateral -= (x_cm * x_cm // radius_mm) * 50
                # In path (two plain tests: see decide()), and not a structure above the road: a
                # closing record beside the lane costs only the first two.
                if (lateral <= half_width and lateral >= neg_half_width
                        and (heights < 0 or words[heights + ((w - first_word) >> 2)] < settings.overhead_height_mm
                             or not -_STATIONARY_MM_S < ego_mm_s + rate < _STATIONARY_MM_S)):
                    rng = words[w + 1]
                    if rng < 0:
                        rng = 0
                    closing = -rate
                    if w == decided_w:
                        level = self.raw_level
                    else:
                        # decide()'s fast estimate, from the same tables; the frame before the
                        # last is read here only, so a frame with no second in-path target
                        # pays nothing for it.
                        fast = 0
                        if found >= 0 and accel >= _A_LEAD_SLOW_MIN_MM_S2:  # as in decide()
                            # found: prev_gen is the last frame's, so the one before is prev_gen - 1
                            fast = _fast_estimate(old, (prev_gen - 1) & _T_MASK if dt_old else -2, tid, closing,
                                                  dt + dt_old, raw)
                        level = _level_of(self, rng, closing, accel, reaction, margin, settings, ego_mm_s, fast)
                    if level >= _WARNING:
                        hits = p_hits[found] + 1 if found >= 0 else 1
                        if hits > 1:  # the same jump test as decide()'s
                            off = p_ranges[found] - rng - closing * dt // 1000
                            if off > jump_mm or off < -jump_mm:
                                hits = 1
                    ranges[slot] = rng
            hits_now[slot] = hits


def _fast_estimate(old, old_gen, tid, closing, dt2, raw):
    """The braking-lead rule's fast estimate of a track's relative deceleration (mm/s^2, closing
    positive): its closing speed's change since the frame before the last (table `old`, frame
    number `old_gen`, `dt2` ms ago), or half this frame's raw estimate when the track was not there
    (old_gen -2: no history that far back; no slot holds it). Called by decide() and track() only
    while the low-passed estimate is up, so a steady track never pays for the call."""
    stamp = old.stamp
    ids = old.ids
    q = tid & _SLOT_MASK
    while stamp[q] == old_gen:
        if ids[q] == tid:
            fast = (closing + old.rate[q]) * 1000 // dt2  # |diff| <= 2e5: 2e8 at most
            if fast > _A_MAX_MM_S2:
                return _A_MAX_MM_S2
            if fast < -_A_MAX_MM_S2:
                return -_A_MAX_MM_S2
            return fast
        q = (q + 1) & _SLOT_MASK
    return raw // 2  # one frame of history: the frame before counts as unchanged


_STANDSTILL_MM_S = const(100)  # ego speed below this (0.36 km/h) is a standstill


def hold_brake(threat, level, t_ms, ego_mm_s, override, clear_ms):
    """The collision level to ask the arbiter for, after decide(): EMERGENCY (the brake request)
    is held once raised, since braking itself raises the TTC and would otherwise release it while
    the car still closes on the threat (and raise it again, metres later).

    Held while an in-path target still closes (decide() found a threat: closing at least
    closing_min); released once none has for clear_ms, or at once when the driver overrides
    (UN R152: accelerator or steering input), and then the confirmed level applies. At a
    standstill (ego_mm_s) it holds the car until the driver acts, as AEB systems do. While the
    driver overrides, the collision cue stays but never above TAKEOVER: no brake request.
    A module function (a method call costs more on the board); called only while a brake
    request is raised or asked for.
    """
    if override:
        threat.brake_hold = False
        return _TAKEOVER if level > _TAKEOVER else level
    if level == _EMERGENCY:
        threat.brake_hold = True
        threat.clearing = False
        return level
    if ego_mm_s < _STANDSTILL_MM_S or threat.target_id >= 0:
        threat.clearing = False  # stopped, or still closing in: the request stays
        return _EMERGENCY
    if not threat.clearing:
        threat.clearing = True
        threat.clear_since_ms = t_ms
    if ticks_diff(t_ms, threat.clear_since_ms) < clear_ms:
        return _EMERGENCY
    threat.brake_hold = False
    threat.clearing = False
    return level


def _level_of(threat, rng, closing, accel, reaction, margin, settings, ego=0, fast=0):
    """Raw level of one in-path target (0 < closing <= _V_MAX_MM_S); its figures are left in
    threat._ttc, _ettc, _a_now, _a_driver.

    level_with_decel(level_for(enhanced_ttc(...)), a_req(now), the larger of a_req(after reaction)
    and a_req_behind_lead(after reaction)), worked out
    in one function: it runs for every in-path target of every frame, and on the board each call
    costs more than the arithmetic it saves (tests check it against those functions). A module
    function rather than a method for the same reason: a method lookup on Threat costs twice a
    plain call.
    """
    if rng >= closing * (_TTC_CAP_MS // 1000):  # closing <= 1e5: product <= 6e6
        ttc = _TTC_CAP_MS
    else:
        # rng * 1000 // closing, split so no product leaves the small-int range (a range
        # above ~1 km times 1000 would exceed 2**30 and allocate on the board).
        ttc = (rng // closing) * 1000 + (rng % closing) * 1000 // closing
    if -_A_DEAD_MM_S2 < accel < _A_DEAD_MM_S2:
        ettc = ttc  # enhanced_ttc's own first test: the acceleration is noise
    else:
        ettc = enhanced_ttc(rng, closing, accel, ttc)
    # a_req(closing, rng, 0, margin) and a_req(closing, rng, reaction, margin)
    v_cm = closing // 10
    v2_5 = v_cm * v_cm * 5  # 5 * 1e8 < 2**30
    left_cm = (rng - margin) // 10
    if left_cm <= 0:
        a_now = A_IMPOSSIBLE
    else:
        a_now = v2_5 // left_cm
        if a_now > A_IMPOSSIBLE:
            a_now = A_IMPOSSIBLE
    left_cm = (rng - margin - closing * reaction // 1000) // 10  # v * t_r <= 1e5 * 3000 = 3e8
    if left_cm <= 0:
        a_driver = A_IMPOSSIBLE
    else:
        a_driver = v2_5 // left_cm
        if a_driver > A_IMPOSSIBLE:
            a_driver = A_IMPOSSIBLE
    # a lead braking: a_req_behind_lead(ego, closing, fast, accel, ...), inlined
    if fast >= _A_LEAD_MIN_MM_S2 and accel >= _A_LEAD_SLOW_MIN_MM_S2 and ego > closing:
        e = ego if ego <= _V_MAX_MM_S else _V_MAX_MM_S
        lead_cm = (e - closing) // 10
        left_cm = (rng - margin - e * reaction // 1000) // 10 + lead_cm * lead_cm * 5 // fast
        if left_cm <= 0:
            a_lead = A_IMPOSSIBLE
        else:
            e //= 10
            a_lead = e * e * 5 // left_cm
            if a_lead > A_IMPOSSIBLE:
                a_lead = A_IMPOSSIBLE
        if a_lead > a_driver:
            a_driver = a_lead
    threat._ttc = ttc
    threat._ettc = ettc
    threat._a_now = a_now
    threat._a_driver = a_driver
    # level_with_decel(level_for(ettc, settings), a_now, a_driver, settings)
    if a_now >= settings.decel_emergency_mm_s2:
        return _EMERGENCY
    if ettc < 0:
        level = _NONE
    elif ettc <= settings.ttc_emergency_ms:
        return _EMERGENCY
    elif ettc <= settings.ttc_takeover_ms:
        level = _TAKEOVER
    elif ettc <= settings.ttc_warning_ms:
        level = _WARNING
    elif ettc <= settings.ttc_notice_ms:
        level = _NOTICE
    else:
        level = _NONE
    if a_driver >= settings.decel_takeover_mm_s2:
        if level < _TAKEOVER:
            level = _TAKEOVER
    elif a_driver >= settings.decel_warning_mm_s2:
        if level < _WARNING:
            level = _WARNING
    return level

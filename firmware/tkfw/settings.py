"""Every threshold the firmware uses, in physical units, with where the number comes from.

One table, SPEC, read by the firmware and by the host (which derives its expectations from it).
Each row: (name, default, unit, lo, hi, safety, why).
- name ends in the unit: "_s" seconds, "_m" metres, "_mps" m/s, "_mps2" m/s^2, "_frames" a
  count of radar frames, "_count" a plain count.
- The firmware works on derived integers: seconds -> ms, metres -> mm, m/s -> mm/s,
  m/s^2 -> mm/s^2, frames -> a plain count, named by swapping the suffix (ttc_warning_s ->
  ttc_warning_ms, confirm_frames -> confirm_n, lockout_after_count -> lockout_after_n). Conversion rounds, so single-precision floats on
  the RP2040 give the same integers as CPython.
- Rows are append-only: the index is the wire key of CONFIG_GET / CONFIG_SET.
- lo/hi bound what config-set accepts. `safety` says which bound protects people:
  FLOOR: lo is a SAFETY FLOOR (a smaller value warns later: a shorter assumed reaction time);
  CEILING: hi is a SAFETY CEILING (a larger value warns later: a longer hands-off allowance, a
  higher deceleration threshold). DO NOT WEAKEN either: the bound is the regulation's or the
  physics' limit, and config-set refuses to cross it (CONFIG_BELOW_FLOOR / CONFIG_ABOVE_CEILING).

Figures: the SU7 crash (Xiaomi's published timeline, 2025), the NHTSA FCW test (alert at TTC 2.1 s
or more), UN R152 (AEBS) and UN R157 (ALKS: reference driver, minimal-risk manoeuvre).
"""

# Unit suffix -> (scale to the device integer, device suffix)
_UNITS = {"_s": (1000, "_ms"), "_m": (1000, "_mm"), "_mps": (1000, "_mm_s"), "_mps2": (1000, "_mm_s2"),
          "_frames": (1, "_n"), "_count": (1, "_n")}

FLOOR = "floor"  # values of the `safety` column
CEILING = "ceiling"

SPEC = (
    ("lane_half_width_m", 1.8, "m", 1.2, 2.5, FLOOR,
     "in-path corridor: ego half width 0.95 m + target half width 0.9 m; an adjacent-lane car "
     "sits at 3.5 m. Narrower would miss offset targets (Euro NCAP overlap down to -75 %)."),
    ("closing_min_mps", 0.3, "m/s", 0.1, 2.0, CEILING,
     "below this closing speed TTC is not computed: 2.5x the 0.12 m/s range-rate accuracy of a "
     "Bosch LRR3, so radar noise on a same-speed lead car never yields a TTC. Ceiling 2 m/s: a "
     "higher one would ignore a slow creep towards a stopped car."),
    ("ttc_notice_s", 6.0, "s", 4.0, 10.0, FLOOR,
     "visual cue only, well before any warning: 150 m detection at 116 km/h is TTC 4.66 s, so "
     "anything inside 6 s is worth showing."),
    ("ttc_warning_s", 4.0, "s", 2.5, 8.0, FLOOR,
     "UN R157's reference driver (1.15 s, then a 0.6 s ramp to 0.774 g) needs TTC 3.57 s at "
     "116 km/h, 3.67 s with the ~0.1 s an alert takes to reach him; a frame tells the road of "
     "~50 ms ago and a warning needs 2 frames: 4.0 s leaves about 0.2 s of margin. Floor 2.5 s "
     "stays above NHTSA's 2.1 s FCW test minimum."),
    ("ttc_takeover_s", 3.0, "s", 1.8, 6.0, FLOOR,
     "below the 3.57 s the R157 reference driver needs at 116 km/h: hand-back is now urgent."),
    ("ttc_emergency_s", 2.0, "s", 1.2, 4.0, FLOOR,
     "stopping from 32.2 m/s at the 8.3 m/s^2 reference AEB needs TTC 1.94 s; brake request from "
     "2.0 s. WARNING at 4.0 s keeps >= 0.8 s between warning and braking (UN R152)."),
    # -- required deceleration. A level is raised when the TTC row OR the deceleration
    # row below says so. a_req = v_rel^2 / (2 (gap - stop_margin - v_rel * reaction)).
    ("reaction_s", 1.2, "s", 1.0, 2.5, FLOOR,
     "attentive reference driver: UN R157 0.4 s perception + 0.75 s to brake = 1.15 s; Green "
     "(2000) ~1.25 s for an unexpected-but-common event. Floor 1.0 s: a shorter assumed reaction "
     "warns later."),
    ("reaction_distracted_s", 2.0, "s", 1.2, 3.0, FLOOR,
     "high-sensitivity mode (hands off, eyes off road or eyes closed in the latest driver frame, "
     "or no driver frame yet): Euro NCAP DSM asks for earlier FCW while distracted; 2.0 s is the "
     "European design reaction time (Green 2000: surprise ~1.5 s). Floor = the attentive floor."),
    ("stop_margin_m", 1.0, "m", 0.5, 3.0, FLOOR,
     "the stop must end this far short of the target (radar range error + bumper overhang); "
     "NHTSA/openpilot treat < 0.25 m as a hit. Floor 0.5 m: less margin warns later."),
    ("decel_warning_mps2", 4.0, "m/s^2", 2.0, 6.6, CEILING,
     "WARNING when the reference driver (reaction_s) would need more than comfortable braking "
     "(3-4 m/s^2; AASHTO designs for 3.4; the top of the band, so a car crossing 95 m ahead at "
     "80 km/h does not sound). At 116 km/h this is a gap of 169 m (TTC 5.2 s), so the SU7 "
     "barrier warns at 150 m detection. Ceiling 6.6 = ISO 15623 threshold <= 0.68 g; higher "
     "would warn later than the standard allows."),
    ("decel_takeover_mps2", 6.0, "m/s^2", 4.0, 7.6, CEILING,
     "TAKEOVER when the reference driver would need near-maximum braking; 6 m/s^2 leaves 1.6 "
     "m/s^2 below the 7.6 m/s^2 a driver achieves on dry asphalt (R157). Ceiling 7.6 = that "
     "limit; above it the driver could not do it at all."),
    ("decel_emergency_mps2", 7.0, "m/s^2", 5.0, 8.3, CEILING,
     "brake request when even IMMEDIATE braking needs this much: the R157 reference AEB gives "
     "8.3 m/s^2 (0.85 g) after ~0.2 s actuator delay, which at 32 m/s needs a_req <= 7.5; 7.0 "
     "keeps a margin. Ceiling 8.3 = the AEB limit. WARNING (reaction 1.2 s, 4.0) precedes it by "
     ">= 1.2 s at any speed (UN R152 asks >= 0.8 s)."),
    ("confirm_frames", 2, "frames", 1, 2, CEILING,
     "WARNING or higher only after the condition held on this many consecutive frames of the "
     "same track: a one-frame ghost cannot warn. 2 frames = 50 ms at 20 Hz. Ceiling 2: a "
     "barrier first seen at 60 m at 116 km/h (TTC 1.86 s) must warn within two frames."),
    ("switch_margin_m", 1.0, "m", 0.0, 3.0, None,
     "closest-in-path selection keeps the current threat unless another in-path target is this "
     "much closer: two reflections of one car (< 1 m apart) do not flicker the threat."),
    ("deescalate_hold_s", 0.5, "s", 0.0, 3.0, None,
     "an alert steps down only after the lower level held this long (and the row's minimum "
     "duration passed): 10 frames at 20 Hz, like openpilot's 10-cycle FCW debounce."),
    # -- driver monitor (tkfw.dm). Durations are continuous unless said otherwise. Most
    # are "at the latest" figures from the regulations, so hi is a SAFETY CEILING.
    ("driver_stale_s", 0.5, "s", 0.2, 1.0, CEILING,
     "driver frames older than this count as UNKNOWN (hands off, eyes off road), never as "
     "attentive: 5 missed frames at the 10 Hz a driver camera sends."),
    ("attention_restore_s", 0.2, "s", 0.2, 2.0, FLOOR,
     "attention (hands on / gaze on road / eyes open) must hold this long to clear a request: "
     "UN R171 re-engagement needs gaze on road >= 200 ms. Floor 0.2 s: a glance must not clear it."),
    ("hands_off_request_s", 5.0, "s", 1.0, 5.0, CEILING,
     "hands-off request (visual) while assistance is engaged: UN R171, at the latest after 5 s."),
    ("hands_off_eyes_on_extra_s", 5.0, "s", 0.0, 5.0, CEILING,
     "the hands-off request may wait this much longer while the eyes are on the road: UN R171 "
     "allows up to 5 s more."),
    ("hands_off_escalate_s", 10.0, "s", 2.0, 10.0, CEILING,
     "hands-off request escalated (audible) this long after the first request: UN R171, at the "
     "latest 10 s."),
    ("eyes_off_request_s", 3.0, "s", 1.0, 5.0, CEILING,
     "eyes-off-road request (visual): Euro NCAP long distraction is gaze away >= 3 s; UN R171 "
     "allows at most 5 s."),
    ("eyes_off_escalate_s", 3.0, "s", 1.0, 3.0, CEILING,
     "eyes-off request escalated (audible) this long after the request: UN R171, at the latest "
     "3 s later."),
    ("dm_takeover_s", 3.0, "s", 1.0, 5.0, CEILING,
     "no return of attention this long after an escalated request: TAKEOVER (direct-control "
     "alert, red + haptic). Euro NCAP: unresponsive = no gaze return within 3 s of a warning; "
     "UN R171 direct-control alert at the latest 5 s after escalation."),
    ("dm_mrm_s", 10.0, "s", 4.0, 10.0, CEILING,
     "still no attention this long after the escalated request: EMERGENCY, minimal-risk request "
     "(brake to a stop at <= 4 m/s^2, hazards): UN R171 risk mitigation at the latest 10 s after "
     "the first escalated request; R157 minimal-risk manoeuvre."),
    ("vats_limit_s", 10.0, "s", 4.0, 10.0, CEILING,
     "visual attention time sharing: eyes off road this long in total within vats_window_s "
     "(repeated glances) raises a WARNING. Euro NCAP: 10 s cumulative within 30 s."),
    ("vats_window_s", 30.0, "s", 30.0, 60.0, FLOOR,
     "the sliding window of the VATS total (Euro NCAP 30 s). Floor 30 s: a shorter window "
     "forgets glances sooner."),
    ("vats_reset_s", 2.0, "s", 2.0, 5.0, FLOOR,
     "eyes on road this long, continuously, resets the VATS total (Euro NCAP: >= 2 s on road). "
     "Floor 2 s: a shorter one forgives glances sooner."),
    ("microsleep_s", 1.0, "s", 0.5, 1.5, CEILING,
     "eyes closed this long is a microsleep, not a blink (blinks last 0.1-0.4 s): WARNING. "
     "Euro NCAP microsleep: closure < 3 s."),
    ("sleep_s", 3.0, "s", 1.5, 3.0, CEILING,
     "eyes closed this long is sleep: TAKEOVER at once (Euro NCAP sleep > 3 s: escalate "
     "immediately)."),
    ("unresponsive_closed_s", 6.0, "s", 3.0, 6.0, CEILING,
     "eyes closed this long: the driver is unresponsive, EMERGENCY with the minimal-risk "
     "request (Euro NCAP unresponsive: >= 6 s closed or away)."),
    ("hs_hold_s", 3.0, "s", 1.0, 10.0, FLOOR,
     "high-sensitivity mode (reaction_distracted_s for the collision rows) lasts while the "
     "driver is distracted, drowsy, unknown or under a driver-monitor request, and this long "
     "after attention returns: the eyes are back, the mind may not be. Floor 1 s."),
    ("lockout_after_count", 3, "count", 1, 3, CEILING,
     "driver-monitor TAKEOVER alerts in one drive before assistance is locked out until "
     "restart (openpilot locks out after 3 terminal alerts)."),
    # -- inputs going stale: timed on the board's own clock, since frame time stops
    # with the frames.
    ("radar_period_s", 0.05, "s", 0.02, 0.1, CEILING,
     "the radar's nominal cycle (Delphi ESR 50 ms, 20 Hz). Radar frames arriving faster than "
     "half of it while a newer one waits are a flood: the older is dropped and counted. Ceiling "
     "0.1 s: a longer nominal cycle would notice a dead radar later."),
    ("radar_stale_frames", 3, "frames", 1, 5, CEILING,
     "no radar frame for this many nominal cycles (150 ms at 20 Hz) raises the FAULT cause at "
     "TAKEOVER: the system can no longer see, the driver must drive. Ceiling 5 (250 ms)."),
    ("host_lost_s", 30.0, "s", 10.0, 300.0, FLOOR,
     "no input of any kind this long after the stale-radar FAULT: the host is gone (a run ended "
     "without END_DRIVE, a cable pulled), not a radar that failed mid-drive (driver frames still "
     "come then). The board forgets the drive and keeps only a slow amber blink (FAULT at NOTICE): "
     "no tone, no haptic. Floor 10 s: the FAULT states itself in full at least that long. "
     "Ceiling 300 s: within half the period of the board's microsecond clock."),
    # -- the brake request once raised (tkfw.ttc hold_brake)
    ("brake_clear_s", 0.5, "s", 0.3, 2.0, FLOOR,
     "a collision brake request is held while any in-path target still closes; it is released "
     "only once none has closed for this long (a target lost for a frame or two is still there), "
     "or when the driver overrides. At a standstill it holds the car until the driver acts. "
     "Floor 0.3 s (6 frames at 20 Hz): shorter would release on a brief radar dropout."),
    ("brake_confirm_frames", 4, "frames", 4, 6, FLOOR,
     "a brake request (collision EMERGENCY) only once the threat's track held WARNING or above "
     "on this many consecutive frames with a consistent range (track_jump_m); until then the "
     "level stops at TAKEOVER. Floor 4: false returns (multipath, a bridge) rarely last 3 "
     "frames, and a phantom brake at 100 km/h costs 30 km/h. 4 frames still brakes for a car "
     "cutting in 10 m ahead 150 ms after it appears; ceiling 6 (250 ms)."),
    ("track_jump_m", 1.0, "m", 0.5, 3.0, None,
     "a track whose range moved more than this away from what its range rate says over one "
     "frame is not one object (a ghost, two reflections swapping ids): its confirmation count "
     "restarts. Long-range radar range noise is 0.1-0.25 m; a car moves 1.6 m a frame at "
     "116 km/h, which the range rate accounts for."),
    # -- the predicted path (tkfw.ttc; radar frames of protocol revision 2)
    ("overhead_height_m", 4.3, "m", 4.1, 6.0, FLOOR,
     "a stationary reflection this high above the road or higher is a structure the car passes "
     "under (a bridge, a sign gantry: clearances are 4.5-5.5 m) and never an obstacle; only "
     "extended radar records carry the height. Floor 4.1 m: the tallest vehicle allowed on EU "
     "roads is 4.0 m, so anything lower may be a truck's load, which must still warn."),
)

KEYS = tuple(row[0] for row in SPEC)



def device_name(name):
    """ttc_warning_s -> ttc_warning_ms: the attribute holding the derived integer."""
    for suffix, (_, device_suffix) in _UNITS.items():
        if name.endswith(suffix):
            return name[: -len(suffix)] + device_suffix
    raise ValueError("setting %s has no unit suffix" % name)


def _scale(name):
    for suffix, (scale, _) in _UNITS.items():
        if name.endswith(suffix):
            return scale
    raise ValueError("setting %s has no unit suffix" % name)


def to_device(name, value):
    for suffix, (scale, _) in _UNITS.items():
        if name.endswith(suffix):
            return int(round(value * scale))
    raise ValueError("setting %s has no unit suffix" % name)


class Settings:
    """The settings in force. Physical values as attributes by name, device integers beside them."""

    def __init__(self):
        self._digest = -1
        for row in SPEC:
            self._store(row[0], row[1])

    def _store(self, name, value):
        setattr(self, name, value)
        setattr(self, device_name(name), to_device(name, value))

    def bounds(self, key):
        """(value, lo, hi) of setting `key` (index into SPEC) in device units."""
        name, _, _, lo, hi, _, _ = SPEC[key]
        return getattr(self, device_name(name)), to_device(name, lo), to_device(name, hi)

    def set_device(self, key, value):
        """Set by index in device units. Returns a tkfw.schema CONFIG_* status; never raises."""
        from tkfw import schema

        if key < 0 or key >= len(SPEC):
            return schema.CONFIG_UNKNOWN_KEY
        name, _, _, _, _, safety, _ = SPEC[key]
        _, lo, hi = self.bounds(key)
        if value < lo:
            return schema.CONFIG_BELOW_FLOOR if safety == FLOOR else schema.CONFIG_OUT_OF_RANGE
        if value > hi:
            return schema.CONFIG_ABOVE_CEILING if safety == CEILING else schema.CONFIG_OUT_OF_RANGE
        setattr(self, device_name(name), value)
        setattr(self, name, value / _scale(name))
        self._digest = -1
        return schema.CONFIG_OK

    def digest(self):
        """CRC-32 (low 30 bits, a small int on the board) of every device value, in SPEC order.

        Kept until a value changes: building the text allocates about 10 KB, which a HELLO at
        every session start would otherwise cost the board's heap."""
        if self._digest < 0:
            self._digest = self._compute_digest()
        return self._digest

    def _compute_digest(self):
        from binascii import crc32

        text = ";".join("%s=%d" % (device_name(r[0]), getattr(self, device_name(r[0]))) for r in SPEC)
        return crc32(text.encode()) & 0x3FFFFFFF

"""Every threshold the firmware uses, in physical units, with where the number comes from.

One table, SPEC, read by the firmware and by the host (which derives its expectations from it).
Each row: (name, default, unit, lo, hi, safety, why).
- name ends in the unit: "_s" seconds, "_m" metres, "_mps" m/s, "_mps2" m/s^2, "_frames" a
  count of radar frames.
- The firmware works on derived integers: seconds -> ms, metres -> mm, m/s -> mm/s,
  m/s^2 -> mm/s^2, frames -> a plain count, named by swapping the suffix (ttc_warning_s ->
  ttc_warning_ms, confirm_frames -> confirm_n). Conversion rounds, so single-precision floats on
  the RP2040 give the same integers as CPython.
- Rows are append-only: the index is the wire key of CONFIG_GET / CONFIG_SET.
- lo/hi bound what config-set accepts. Where `safety` is True, lo is a SAFETY FLOOR:
  DO NOT WEAKEN. Lowering it lets a reconfigured device warn later than the figures allow.

Figures: ../shared/reference/domain.md (SU7 reconstruction, NHTSA FCW, UN R152/R157).
"""

# Unit suffix -> (scale to the device integer, device suffix)
_UNITS = {"_s": (1000, "_ms"), "_m": (1000, "_mm"), "_mps": (1000, "_mm_s"), "_mps2": (1000, "_mm_s2"),
          "_frames": (1, "_n")}

SPEC = (
    ("lane_half_width_m", 1.8, "m", 1.2, 2.5, True,
     "in-path corridor: ego half width 0.95 m + target half width 0.9 m; an adjacent-lane car "
     "sits at 3.5 m. Narrower would miss offset targets (Euro NCAP overlap down to -75 %)."),
    ("closing_min_mps", 0.3, "m/s", 0.1, 2.0, False,
     "below this closing speed TTC is not computed: 2.5x the 0.12 m/s range-rate accuracy of a "
     "Bosch LRR3, so radar noise on a same-speed lead car never yields a TTC."),
    ("ttc_notice_s", 6.0, "s", 4.0, 10.0, True,
     "visual cue only, well before any warning: 150 m detection at 116 km/h is TTC 4.66 s, so "
     "anything inside 6 s is worth showing."),
    ("ttc_warning_s", 4.0, "s", 2.5, 8.0, True,
     "a driver reacting in 1.2 s and braking at 7.6 m/s^2 needs TTC 3.32 s at 116 km/h; 4.0 s "
     "leaves 0.7 s of margin. Floor 2.5 s stays above NHTSA's 2.1 s FCW test minimum."),
    ("ttc_takeover_s", 3.0, "s", 1.8, 6.0, True,
     "below the 3.32 s the reference driver needs at 116 km/h: hand-back is now urgent."),
    ("ttc_emergency_s", 2.0, "s", 1.2, 4.0, True,
     "stopping from 32.2 m/s at the 8.3 m/s^2 reference AEB needs TTC 1.94 s; brake request from "
     "2.0 s. WARNING at 4.0 s keeps >= 0.8 s between warning and braking (UN R152)."),
    # -- required deceleration (issue 3). A level is raised when the TTC row OR the deceleration
    # row below says so. a_req = v_rel^2 / (2 (gap - stop_margin - v_rel * reaction)).
    ("reaction_s", 1.2, "s", 1.0, 2.5, True,
     "attentive reference driver: UN R157 0.4 s perception + 0.75 s to brake = 1.15 s; Green "
     "(2000) ~1.25 s for an unexpected-but-common event. Floor 1.0 s: a shorter assumed reaction "
     "warns later."),
    ("reaction_distracted_s", 2.0, "s", 1.2, 3.0, True,
     "high-sensitivity mode (hands off, eyes off road or eyes closed in the latest driver frame, "
     "or no driver frame yet): Euro NCAP DSM asks for earlier FCW while distracted; 2.0 s is the "
     "European design reaction time (Green 2000: surprise ~1.5 s). Floor = the attentive floor."),
    ("stop_margin_m", 1.0, "m", 0.5, 3.0, True,
     "the stop must end this far short of the target (radar range error + bumper overhang); "
     "NHTSA/openpilot treat < 0.25 m as a hit. Floor 0.5 m: less margin warns later."),
    ("decel_warning_mps2", 4.0, "m/s^2", 2.0, 6.6, False,
     "WARNING when the reference driver (reaction_s) would need more than comfortable braking "
     "(3-4 m/s^2; AASHTO designs for 3.4; the top of the band, so a car crossing 95 m ahead at "
     "80 km/h does not sound). At 116 km/h this is a gap of 169 m (TTC 5.2 s), so the SU7 "
     "barrier warns at 150 m detection. Ceiling 6.6 = ISO 15623 threshold <= 0.68 g; higher "
     "would warn later than the standard allows."),
    ("decel_takeover_mps2", 6.0, "m/s^2", 4.0, 7.6, False,
     "TAKEOVER when the reference driver would need near-maximum braking; 6 m/s^2 leaves 1.6 "
     "m/s^2 below the 7.6 m/s^2 a driver achieves on dry asphalt (R157). Ceiling 7.6 = that "
     "limit; above it the driver could not do it at all."),
    ("decel_emergency_mps2", 7.0, "m/s^2", 5.0, 8.3, False,
     "brake request when even IMMEDIATE braking needs this much: the R157 reference AEB gives "
     "8.3 m/s^2 (0.85 g) after ~0.2 s actuator delay, which at 32 m/s needs a_req <= 7.5; 7.0 "
     "keeps a margin. Ceiling 8.3 = the AEB limit. WARNING (reaction 1.2 s, 4.0) precedes it by "
     ">= 1.2 s at any speed (UN R152 asks >= 0.8 s)."),
    ("confirm_frames", 2, "frames", 1, 2, False,
     "WARNING or higher only after the condition held on this many consecutive frames of the "
     "same track: a one-frame ghost cannot warn. 2 frames = 50 ms at 20 Hz. Ceiling 2: a "
     "barrier first seen at 60 m at 116 km/h (TTC 1.86 s) must brake within two frames."),
    ("switch_margin_m", 1.0, "m", 0.0, 3.0, False,
     "closest-in-path selection keeps the current threat unless another in-path target is this "
     "much closer: two reflections of one car (< 1 m apart) do not flicker the threat."),
    ("deescalate_hold_s", 0.5, "s", 0.0, 3.0, False,
     "an alert steps down only after the lower level held this long (and the row's minimum "
     "duration passed): 10 frames at 20 Hz, like openpilot's 10-cycle FCW debounce."),
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
            return schema.CONFIG_BELOW_FLOOR if safety else schema.CONFIG_OUT_OF_RANGE
        if value > hi:
            return schema.CONFIG_OUT_OF_RANGE
        setattr(self, device_name(name), value)
        setattr(self, name, value / _scale(name))
        return schema.CONFIG_OK

    def digest(self):
        """CRC-32 (low 30 bits, a small int on the board) of every device value, in SPEC order."""
        from binascii import crc32

        text = ";".join("%s=%d" % (device_name(r[0]), getattr(self, device_name(r[0]))) for r in SPEC)
        return crc32(text.encode()) & 0x3FFFFFFF

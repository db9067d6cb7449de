"""Every threshold the firmware uses, in physical units, with where the number comes from.

One table, SPEC, read by the firmware and by the host (which derives its expectations from it).
Each row: (name, default, unit, lo, hi, safety, why).
- name ends in the unit: "_s" seconds, "_m" metres, "_mps" m/s, "_mps2" m/s^2.
- The firmware works on derived integers: seconds -> ms, metres -> mm, m/s -> mm/s,
  m/s^2 -> mm/s^2, named by swapping the suffix (ttc_warning_s -> ttc_warning_ms). Conversion
  rounds, so single-precision floats on the RP2040 give the same integers as CPython.
- lo/hi bound what config-set accepts. Where `safety` is True, lo is a SAFETY FLOOR:
  DO NOT WEAKEN. Lowering it lets a reconfigured device warn later than the figures allow.

Figures: ../shared/reference/domain.md (SU7 reconstruction, NHTSA FCW, UN R152/R157).
"""

# Unit suffix -> (scale to the device integer, device suffix)
_UNITS = {"_s": (1000, "_ms"), "_m": (1000, "_mm"), "_mps": (1000, "_mm_s"), "_mps2": (1000, "_mm_s2")}

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
)

KEYS = tuple(row[0] for row in SPEC)


def device_name(name):
    """ttc_warning_s -> ttc_warning_ms: the attribute holding the derived integer."""
    for suffix, (_, device_suffix) in _UNITS.items():
        if name.endswith(suffix):
            return name[: -len(suffix)] + device_suffix
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
        setattr(self, name, value / 1000)
        return schema.CONFIG_OK

    def digest(self):
        """CRC-32 (low 30 bits, a small int on the board) of every device value, in SPEC order."""
        from binascii import crc32

        text = ";".join("%s=%d" % (device_name(r[0]), getattr(self, device_name(r[0]))) for r in SPEC)
        return crc32(text.encode()) & 0x3FFFFFFF

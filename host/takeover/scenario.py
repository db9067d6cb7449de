"""Scenario files: TOML, strictly checked (a typo must never silently disable an expectation).

Format documented in docs/scenarios.md. Built-in scenarios ship as TOML in takeover/scenarios/.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tkfw.alerts import LEVELS

from takeover.errors import UsageError

BUILTIN_DIR = Path(__file__).with_name("scenarios")


@dataclass
class Ego:
    speed_kph: float
    # [[ego.accel]]: {"t_s": s, "accel_mps2": m/s^2, "until_kph": km/h (optional)}: from t_s on the
    # ego speeds up (or, negative, slows down) until the next entry, or until it reaches until_kph.
    # Braking (the driver, the brake request, a minimal-risk stop) overrides it while it lasts.
    accel: list[dict] = field(default_factory=list)

    def accel_at(self, t_s: float) -> tuple[float, float | None]:
        """(acceleration, speed it stops at in m/s or None) the timeline asks for at t_s."""
        now = (0.0, None)
        for entry in self.accel:
            if entry["t_s"] > t_s:
                break
            until = entry.get("until_kph")
            now = (entry["accel_mps2"], None if until is None else until / 3.6)
        return now


@dataclass
class Road:
    # 1 / radius of the road's curve, left positive (0.002: a 500 m left-hand curve), constant
    # over the drive. The ego keeps to its lane's centre; targets' lateral_m are offsets from it.
    curvature_per_m: float = 0.0


@dataclass
class Target:
    id: int
    range_m: float
    lateral_m: float = 0.0
    speed_kph: float = 0.0
    detect_range_m: float = 150.0
    accel_mps2: float = 0.0  # constant acceleration from t = 0 (negative slows it, down to a stop)
    brake_at_s: float | None = None  # from then on it brakes at brake_mps2 to a stop (CCRb)
    brake_mps2: float = 0.0
    lane_change_at_s: float | None = None  # from then on it moves to lane_change_to_m (cut-out)
    lane_change_to_m: float = 0.0
    lane_change_s: float = 1.5
    lateral_speed_mps: float = 0.0  # steady lateral motion from t = 0 (a crossing target), left positive;
    # a lane change moves the target on top of it
    appear_s: float = 0.0  # the radar reports it only from appear_s ...
    vanish_s: float | None = None  # ... until vanish_s (a ghost target lasts one frame)
    ghost: bool = False  # a false detection: reported by the radar, but nothing is there
    height_m: float | None = None  # the reflection's height above the road, if the radar measures it
    overhead: bool = False  # a structure above the road (a bridge, a gantry): reported, driven under


STATE_KEYS = ("hands_on", "eyes_on_road", "eyes_closed", "engaged", "override")  # what a driver frame carries


# The reference driver's braking, by model: the time from perceiving a collision cue to the
# foot on the brake, the deceleration reached, and how long the deceleration takes to build up.
#   r157: UN R157's reference driver: 0.4 s perception + 0.75 s to move to the brake = 1.15 s,
#         then the deceleration ramps over 0.6 s to 0.774 g (7.59 m/s^2). At 116 km/h it needs
#         115 m (TTC 3.57 s) from the cue.
#   step: the simpler model this bench used first: 1.2 s, then 7.6 m/s^2 at once (107 m, TTC
#         3.32 s at 116 km/h). Kept to compare with older results; it flatters the firmware.
DRIVER_MODELS = {"r157": {"reaction_s": 1.15, "brake_mps2": 7.59, "brake_ramp_s": 0.6},
                 "step": {"reaction_s": 1.2, "brake_mps2": 7.6, "brake_ramp_s": 0.0}}


@dataclass
class Driver:
    reacts_to: str = "WARNING"  # a level name, or "never" for an absent driver
    model: str = "r157"  # DRIVER_MODELS: the defaults of the three below
    reaction_s: float = None  # type: ignore[assignment]  # from perceiving the cue to braking
    brake_mps2: float = None  # type: ignore[assignment]  # the deceleration braking builds up to
    brake_ramp_s: float = None  # type: ignore[assignment]  # how long it takes to build up
    hands_on: bool = True  # the driver state the firmware is told (driver frames) ...
    eyes_on_road: bool = True
    eyes_closed: bool = False
    engaged: bool = True  # ... including whether assistance is engaged
    override: bool = False  # ... and whether the driver overrides a brake request (accelerator, steering)
    driver_hz: float = 10.0  # driver frames per second
    reaction_distracted_s: float = 2.0  # eyes off road or closed when the alert comes (Green 2000, Europe)
    # Eyes back on the road less than this before the cue still count as distracted: Euro NCAP's
    # driver-state rules count attention as restored only after 2 s with the eyes on the road.
    refocus_s: float = 2.0
    state: list[dict] = field(default_factory=list)  # [[driver.state]]: {"t_s": s, key: bool, ...}

    def __post_init__(self):
        for key, value in DRIVER_MODELS.get(self.model, DRIVER_MODELS["r157"]).items():
            if getattr(self, key) is None:
                setattr(self, key, value)

    def braking(self) -> str:
        """How this driver brakes, in words: "1.15 s after the cue, then a 0.6 s ramp to 7.59 m/s^2"."""
        ramp = f"a {self.brake_ramp_s:g} s ramp to " if self.brake_ramp_s > 0 else ""
        return f"{self.reaction_s:g} s after the cue, then {ramp}{self.brake_mps2:g} m/s^2"

    def distracted(self, t_s: float) -> bool:
        """Whether a cue perceived at t_s meets a distracted driver: eyes off the road or closed
        then, or at any time in the refocus_s before."""
        def away(state: dict) -> bool:
            return state["eyes_closed"] or not state["eyes_on_road"]

        since = t_s - self.refocus_s
        if away(self.state_at(t_s)) or away(self.state_at(max(since, 0.0))):
            return True
        return any(away(self.state_at(entry["t_s"])) for entry in self.state if since < entry["t_s"] <= t_s)

    def state_at(self, t_s: float) -> dict:
        """The driver state at t_s: the base keys, overridden by every timeline entry due by then.

        Keys an entry leaves out carry over, so an entry only has to name what changes."""
        now = {key: getattr(self, key) for key in STATE_KEYS}
        for entry in self.state:
            if entry["t_s"] > t_s:
                break
            now.update((key, value) for key, value in entry.items() if key != "t_s")
        return now

    def timeline(self) -> list[dict]:
        """The full state from t = 0 and after each timeline entry (what the run report shows)."""
        times = [entry["t_s"] for entry in self.state]
        if not times or times[0] > 0:
            times.insert(0, 0.0)
        return [{"t_s": t, **self.state_at(t)} for t in times]


MRM_DECEL_MAX_MPS2 = 4.0  # UN R157: a minimal-risk manoeuvre decelerates at no more than 4 m/s^2


@dataclass
class Aeb:
    enabled: bool = True  # the plant applies the firmware's brake request
    delay_s: float = 0.2  # actuator delay from the request reaching the host to full braking
    decel_mps2: float = 8.3  # R157 reference AEB, 0.85 g
    mrm_decel_mps2: float = 3.0  # minimal-risk stop (the firmware's MRM request), at most MRM_DECEL_MAX_MPS2


@dataclass
class Radar:
    range_noise_m: float = 0.0  # standard deviation of Gaussian noise on each range
    rate_noise_mps: float = 0.0  # standard deviation of Gaussian noise on each range rate
    seed: int = 1  # noise is reproducible run to run
    # A frame describes the road this long before it is sent: the radar measures, then tracks,
    # then sends. One cycle of a Delphi ESR (50 ms; Continental ARS30x 66 ms, Bosch LRR3 80 ms).
    latency_ms: float = 50.0


@dataclass
class Hmi:
    # From the alert leaving the board to the driver seeing or hearing it: the message to the
    # cluster (10-20 ms CAN cycles), a display refresh (17-33 ms) and the chime's onset. A design
    # input, rounded up, not a measured figure.
    latency_ms: float = 100.0


@dataclass
class Expect:
    max_level: str | None = None  # nothing above this level may be raised
    min_level: str | None = None  # at least this level must be raised (before any impact)
    no_collision: bool | None = None
    min_warning_ttc_s: float | None = None  # ground-truth TTC at the first WARNING-or-higher alert
    max_impact_speed_kph: float | None = None  # relative impact speed, if there is an impact
    level_by: dict[str, float] | None = None  # level -> s: that level or higher raised by then
    level_not_before: dict[str, float] | None = None  # level -> s: nothing at that level or higher earlier


@dataclass
class Scenario:
    name: str
    description: str
    duration_s: float
    radar_hz: float
    ego: Ego
    targets: list[Target] = field(default_factory=list)
    expect: Expect = field(default_factory=Expect)
    source: str = ""
    driver: Driver = field(default_factory=Driver)
    aeb: Aeb = field(default_factory=Aeb)
    radar: Radar = field(default_factory=Radar)
    reference: str = ""  # what it reproduces: a protocol, a regulation, the SU7 reconstruction
    hmi: Hmi = field(default_factory=Hmi)
    road: Road = field(default_factory=Road)

    def uses_path_or_height(self) -> bool:
        """Whether the radar frames need protocol revision 2 (a curve, or measured heights)."""
        return self.road.curvature_per_m != 0.0 or any(t.height_m is not None for t in self.targets)


# key -> (type(s), required). Types are checked strictly; ints are accepted where floats are.
_TOP = {"name": (str, True), "description": (str, True), "reference": (str, False), "duration_s": (float, True),
        "radar_hz": (float, False), "ego": (dict, True), "target": (list, False), "expect": (dict, False),
        "driver": (dict, False), "aeb": (dict, False), "radar": (dict, False), "hmi": (dict, False),
        "road": (dict, False)}
_EGO = {"speed_kph": (float, True), "accel": (list, False)}
_EGO_ACCEL = {"t_s": (float, True), "accel_mps2": (float, True), "until_kph": (float, False)}
_ROAD = {"curvature_per_m": (float, False)}
OVERLAP_M = 1.8  # |lateral| below which a target overlaps the ego's path (1.9 m wide cars)
CURVATURE_MAX_PER_M = 0.02  # a 50 m radius: tighter than any road a radar scenario means
_OPTIONAL_FLOAT = (float, False)
_TARGET = {"id": (int, True), "range_m": (float, True), "lateral_m": _OPTIONAL_FLOAT,
           "speed_kph": _OPTIONAL_FLOAT, "detect_range_m": _OPTIONAL_FLOAT, "accel_mps2": _OPTIONAL_FLOAT,
           "brake_at_s": _OPTIONAL_FLOAT, "brake_mps2": _OPTIONAL_FLOAT, "lane_change_at_s": _OPTIONAL_FLOAT,
           "lane_change_to_m": _OPTIONAL_FLOAT, "lane_change_s": _OPTIONAL_FLOAT,
           "lateral_speed_mps": _OPTIONAL_FLOAT, "appear_s": _OPTIONAL_FLOAT, "vanish_s": _OPTIONAL_FLOAT,
           "ghost": (bool, False), "height_m": _OPTIONAL_FLOAT, "overhead": (bool, False)}
_DRIVER = {"reacts_to": (str, False), "model": (str, False), "reaction_s": _OPTIONAL_FLOAT,
           "brake_mps2": _OPTIONAL_FLOAT, "brake_ramp_s": _OPTIONAL_FLOAT, "refocus_s": _OPTIONAL_FLOAT,
           "hands_on": (bool, False), "eyes_on_road": (bool, False), "eyes_closed": (bool, False),
           "engaged": (bool, False), "override": (bool, False), "driver_hz": _OPTIONAL_FLOAT, "reaction_distracted_s": _OPTIONAL_FLOAT,
           "state": (list, False)}
_DRIVER_STATE = {"t_s": (float, True), **{key: (bool, False) for key in STATE_KEYS}}
_AEB = {"enabled": (bool, False), "delay_s": _OPTIONAL_FLOAT, "decel_mps2": _OPTIONAL_FLOAT,
        "mrm_decel_mps2": _OPTIONAL_FLOAT}
_RADAR = {"range_noise_m": _OPTIONAL_FLOAT, "rate_noise_mps": _OPTIONAL_FLOAT, "seed": (int, False),
          "latency_ms": _OPTIONAL_FLOAT}
_HMI = {"latency_ms": _OPTIONAL_FLOAT}
_EXPECT = {"max_level": (str, False), "min_level": (str, False), "no_collision": (bool, False),
           "min_warning_ttc_s": _OPTIONAL_FLOAT, "max_impact_speed_kph": _OPTIONAL_FLOAT,
           "level_by": (dict, False), "level_not_before": (dict, False)}


# What is physically a vehicle, a driver, a radar: (low, high, unit) per key of each table. A value
# outside (or NaN) is refused with the range and the unit, so a sign slip (speed_kph = -90), a unit
# slip (9000 km/h) or a negative range never runs as if it meant something. The plant steps at
# 12.5 ms: at the highest closing speed here (500 km/h) a body moves 1.7 m a step.
RANGES = {
    "top": {"duration_s": (0.1, 3600.0, "s"), "radar_hz": (1.0, 100.0, "Hz")},
    "ego": {"speed_kph": (0.0, 250.0, "km/h")},
    "road": {"curvature_per_m": (-CURVATURE_MAX_PER_M, CURVATURE_MAX_PER_M, "1/m (a 50 m radius)")},
    "target": {"range_m": (-500.0, 2000.0, "m"), "lateral_m": (-50.0, 50.0, "m"),
               "speed_kph": (-250.0, 250.0, "km/h (negative: oncoming)"), "detect_range_m": (1.0, 1000.0, "m"),
               "accel_mps2": (-15.0, 10.0, "m/s^2"), "brake_at_s": (0.0, 3600.0, "s"),
               "brake_mps2": (0.0, 15.0, "m/s^2"), "lane_change_at_s": (0.0, 3600.0, "s"),
               "lane_change_to_m": (-50.0, 50.0, "m"), "lane_change_s": (0.1, 30.0, "s"),
               "lateral_speed_mps": (-20.0, 20.0, "m/s"), "appear_s": (0.0, 3600.0, "s"),
               "vanish_s": (0.0, 3600.0, "s"), "height_m": (-1.0, 30.0, "m")},
    "driver": {"reaction_s": (0.0, 10.0, "s"), "reaction_distracted_s": (0.0, 10.0, "s"),
               "brake_mps2": (0.5, 12.0, "m/s^2"), "brake_ramp_s": (0.0, 5.0, "s"), "refocus_s": (0.0, 10.0, "s"),
               "driver_hz": (1.0, 100.0, "Hz")},
    "aeb": {"delay_s": (0.0, 2.0, "s"), "decel_mps2": (0.5, 15.0, "m/s^2")},
    "radar": {"range_noise_m": (0.0, 10.0, "m"), "rate_noise_mps": (0.0, 10.0, "m/s"), "latency_ms": (0.0, 1000.0, "ms")},
    "hmi": {"latency_ms": (0.0, 1000.0, "ms")},
}


def _in_range(obj, table: str, where: str, origin: str) -> None:
    for key, (lo, hi, unit) in RANGES[table].items():
        value = getattr(obj, key)
        if value is None:
            continue
        if not lo <= value <= hi:  # NaN fails too
            raise UsageError(f"{origin}: {where}{key} must be within {lo:g}..{hi:g} {unit}, got {value:g}")


def check_ranges(scn: "Scenario", origin: str | None = None) -> None:
    """Refuse a scenario with a value outside its physical range (RANGES), naming the key, the
    range and the unit. parse() calls it; so do sweep and demo after they set their values."""
    origin = origin or scn.source or scn.name
    _in_range(scn, "top", "", origin)
    _in_range(scn.ego, "ego", "[ego] ", origin)
    _in_range(scn.road, "road", "[road] ", origin)
    _in_range(scn.driver, "driver", "[driver] ", origin)
    _in_range(scn.aeb, "aeb", "[aeb] ", origin)
    _in_range(scn.radar, "radar", "[radar] ", origin)
    _in_range(scn.hmi, "hmi", "[hmi] ", origin)
    for i, target in enumerate(scn.targets):
        where = f"[[target]] {i + 1} "
        _in_range(target, "target", where, origin)
        if (target.range_m <= 0 and abs(target.lateral_m) < OVERLAP_M and not target.overhead
                and not target.ghost and target.appear_s == 0):
            raise UsageError(f"{origin}: {where}range_m must be > 0 m for a target in the ego's lane "
                             f"(|lateral_m| < {OVERLAP_M:g} m) at the start, got {target.range_m:g}: "
                             f"it would be in the car")
        if target.vanish_s is not None and target.vanish_s <= target.appear_s:
            raise UsageError(f"{origin}: {where}vanish_s ({target.vanish_s:g} s) must be after appear_s "
                             f"({target.appear_s:g} s)")


def _check(table: dict, spec: dict, where: str, origin: str) -> dict:
    for key in table:
        if key not in spec:
            close = difflib.get_close_matches(key, spec, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(spec)})"
            raise UsageError(f"{origin}: unknown key '{key}' in {where}{hint}")
    out = {}
    for key, (kind, required) in spec.items():
        if key not in table:
            if required:
                raise UsageError(f"{origin}: missing required key '{key}' in {where}")
            continue
        value = table[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            kind_name = "a table" if kind is dict else kind.__name__
            raise UsageError(f"{origin}: '{key}' in {where} must be {kind_name}, got {value!r}")
        out[key] = value
    return out


def _level(value: str | None, key: str, origin: str) -> str | None:
    if value is not None and value not in LEVELS:
        raise UsageError(f"{origin}: [expect] {key} = {value!r} is not a level ({', '.join(LEVELS)})")
    return value


def _level_times(table: dict | None, key: str, origin: str) -> dict[str, float] | None:
    """[expect.level_by] and the like: level name -> seconds, every name a level above NONE."""
    if table is None:
        return None
    out = {}
    for level, seconds in table.items():
        if level not in LEVELS[1:]:
            raise UsageError(f"{origin}: [expect.{key}] {level!r} is not a level ({', '.join(LEVELS[1:])})")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise UsageError(f"{origin}: [expect.{key}] {level} must be a time in seconds >= 0, got {seconds!r}")
        out[level] = float(seconds)
    return out


def _ego(table: dict, origin: str) -> Ego:
    if isinstance(table.get("accel"), dict):
        raise UsageError(f"{origin}: [ego.accel] must be a list of entries: write [[ego.accel]]")
    checked = _check(table, _EGO, "[ego]", origin)
    entries = []
    for i, entry in enumerate(checked.get("accel", [])):
        where = f"[[ego.accel]] {i + 1}"
        if not isinstance(entry, dict):
            raise UsageError(f"{origin}: {where} must be a table")
        entry = _check(entry, _EGO_ACCEL, where, origin)
        if entry["t_s"] < 0 or (entries and entry["t_s"] <= entries[-1]["t_s"]):
            raise UsageError(f"{origin}: {where}: t_s = {entry['t_s']} must be >= 0 and after the entry before it")
        if not -10.0 <= entry["accel_mps2"] <= 5.0:
            raise UsageError(f"{origin}: {where}: accel_mps2 must be within -10..5 m/s^2, got {entry['accel_mps2']}")
        if entry.get("until_kph", 0.0) < 0:
            raise UsageError(f"{origin}: {where}: until_kph must be >= 0, got {entry['until_kph']}")
        entries.append(entry)
    return Ego(checked["speed_kph"], entries)


def _driver(table: dict, origin: str) -> Driver:
    if isinstance(table.get("state"), dict):
        raise UsageError(f"{origin}: [driver.state] must be a list of entries: write [[driver.state]]")
    checked = _check(table, _DRIVER, "[driver]", origin)
    if checked.get("model", "r157") not in DRIVER_MODELS:
        raise UsageError(f"{origin}: [driver] model = {checked['model']!r} is not a driver model "
                         f"({', '.join(DRIVER_MODELS)})")
    driver = Driver(**checked)
    if driver.reacts_to != "never" and driver.reacts_to not in LEVELS[1:]:
        raise UsageError(f"{origin}: [driver] reacts_to = {driver.reacts_to!r} must be a level "
                         f"({', '.join(LEVELS[1:])}) or \"never\"")
    entries = []
    for i, entry in enumerate(driver.state):
        where = f"[[driver.state]] {i + 1}"
        if not isinstance(entry, dict):
            raise UsageError(f"{origin}: {where} must be a table")
        entry = _check(entry, _DRIVER_STATE, where, origin)
        if entry["t_s"] < 0:
            raise UsageError(f"{origin}: {where}: t_s must be >= 0, got {entry['t_s']}")
        if entries and entry["t_s"] <= entries[-1]["t_s"]:
            raise UsageError(f"{origin}: {where}: t_s = {entry['t_s']} must be after the entry before it "
                             f"(t_s = {entries[-1]['t_s']}); entries go in strictly increasing t_s")
        entries.append(entry)
    driver.state = entries
    return driver


def parse(text: str, origin: str) -> Scenario:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{origin}: not valid TOML: {exc}") from None
    top = _check(raw, _TOP, "the top level", origin)
    ego = _ego(top["ego"], origin)
    road = Road(**_check(top.get("road", {}), _ROAD, "[road]", origin))
    targets = []
    for i, entry in enumerate(top.get("target", [])):
        if not isinstance(entry, dict):
            raise UsageError(f"{origin}: [[target]] entry {i + 1} must be a table")
        target = Target(**_check(entry, _TARGET, f"[[target]] {i + 1}", origin))
        if target.brake_at_s is not None and target.brake_mps2 <= 0:
            raise UsageError(f"{origin}: [[target]] {i + 1} has brake_at_s but no positive brake_mps2")
        if target.overhead and target.height_m is None:
            raise UsageError(f"{origin}: [[target]] {i + 1} is overhead but has no height_m (what the radar measures)")
        targets.append(target)
    ids = [t.id for t in targets]
    if len(set(ids)) != len(ids):
        raise UsageError(f"{origin}: target ids must be unique, got {ids}")
    if len(targets) > 64:
        raise UsageError(f"{origin}: at most 64 targets, got {len(targets)}")
    expect_raw = _check(top.get("expect", {}), _EXPECT, "[expect]", origin)
    expect = Expect(**{**expect_raw,
                       "max_level": _level(expect_raw.get("max_level"), "max_level", origin),
                       "min_level": _level(expect_raw.get("min_level"), "min_level", origin),
                       "level_by": _level_times(expect_raw.get("level_by"), "level_by", origin),
                       "level_not_before": _level_times(expect_raw.get("level_not_before"),
                                                        "level_not_before", origin)})
    driver = _driver(top.get("driver", {}), origin)
    aeb = Aeb(**_check(top.get("aeb", {}), _AEB, "[aeb]", origin))
    if not 0 < aeb.mrm_decel_mps2 <= MRM_DECEL_MAX_MPS2:
        raise UsageError(f"{origin}: [aeb] mrm_decel_mps2 must be within 0..{MRM_DECEL_MAX_MPS2:g} m/s^2 "
                         f"(UN R157 minimal-risk manoeuvre), got {aeb.mrm_decel_mps2}")
    radar = Radar(**_check(top.get("radar", {}), _RADAR, "[radar]", origin))
    hmi = Hmi(**_check(top.get("hmi", {}), _HMI, "[hmi]", origin))
    scn = Scenario(top["name"], top["description"], top["duration_s"], top.get("radar_hz", 20.0), ego, targets,
                   expect, origin, driver, aeb, radar, top.get("reference", ""), hmi, road)
    check_ranges(scn, origin)
    return scn


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UsageError(f"scenario file {name_or_path} not found")
        return parse(path.read_text(), str(path))
    builtin = BUILTIN_DIR / f"{name_or_path}.toml"
    if builtin.is_file():
        return parse(builtin.read_text(), builtin.name)
    close = difflib.get_close_matches(name_or_path, builtin_names(), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UsageError(f"no built-in scenario '{name_or_path}' and no such file{hint} (see `takeover scenarios`)")

"""`takeover evidence`: many seeded, randomized drives on one board, and the figures that say
whether the firmware cries wolf, warns in time and holds its brake request.

    takeover evidence --benign 100 --critical 50 --seed 1 --out evidence/ --save missed/

Two kinds of drive, each drawn by `random.Random(seed + index)`, written as scenario TOML
(docs/scenarios.md) and parsed back, so any drive can be saved and replayed with `takeover run FILE`:
- benign (20-30 s, highway or urban): leads at a safe headway, adjacent-lane traffic, far
  crossing targets, short radar ghosts, a lead pulling away, a faster car cutting in far ahead,
  radar noise. Each is checked against the ground truth before it is used: with nothing
  reacting, the in-path TTC never drops below BENIGN_MIN_TTC_S and nothing is hit; a draw that
  fails is drawn again.
- critical (10-20 s): a stationary, slow or braking car in the ego's path that is hit when nothing
  reacts; the reference driver reacts to WARNING, with the eyes off the road as the threat comes
  in some drives; the firmware's brake request is applied (AEB on).

The figures (docs/evidence.md):
- benign: drives with any alert at WARNING or higher (any cause), drives with a brake request;
- critical: drives whose first collision WARNING came later than the reference driver needs,
  allowing the confirmation frames after the threat is first seen; collisions and relative
  impact speeds;
- both: brake releases while the ground truth still closes on the in-path target.

"When the reference driver needs the warning" is found by running the plant (takeover.plant)
itself, not by a formula: a scripted collision WARNING at a radar frame, the AEB off, and a
binary search for the latest frame from which the driver still stops short. Only Plant's
public surface is used (Plant(scenario), step, on_alert, collided, t_s, ego.v_mps, gap_m, ttc_s),
so the search follows any change to the driver model. Everything here but run_drive is pure:
the generators, the ground truth, the metrics and the report need no board.
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tkfw.alerts import CAUSE_COLLISION, CAUSES, LEVELS, OUT_BRAKE
from tkfw.settings import Settings

from takeover.plant import STOPPED_HOLD_S, Plant
from takeover.scenario import Scenario, Target, parse

KPH = 1 / 3.6
COLLISION = CAUSES[CAUSE_COLLISION]
WARNING = LEVELS.index("WARNING")
BENIGN_MIN_TTC_S = 6.0  # a benign drive's in-path TTC with nothing reacting stays above this
RADAR_HZ = 20  # every drive's radar rate (Delphi ESR 50 ms, the built-ins' rate)
MAX_DRAWS = 500  # a generator that cannot find a drive in this many draws has a bug
CRITICAL_MAX_IMPACT_S = 12.0  # no-action impact at most this late, so a 20 s drive ends in a stop or a hit
# Only to size a critical drive's duration (the needed-warning search asks the plant itself):
GIVE_UP_S = 120.0  # a warned driver not stopped this long after the warning never will

KINDS = ("benign", "critical")
TARGETS = (  # key, what the line says
    ("benign_brake", "0 brake requests in benign drives"),
    ("benign_warning", "0 WARNING in benign drives (a 2-3 frame radar ghost's aside)"),
    ("brake_release", "no brake release while closing"),
    ("warning_in_time", "first WARNING in time in every critical drive detection allowed"),
)


# -- scenario TOML ----------------------------------------------------------------------------
def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)  # repr of a float reads back as the same float (tomllib)
    if isinstance(v, str):
        return json.dumps(v)  # what json.dumps escapes, TOML basic strings read the same way
    raise TypeError(f"no TOML for {v!r}")


def _pair(key: str, v) -> str:
    """`key = value`, with a trailing comment when v is (value, comment)."""
    if isinstance(v, tuple):
        return f"{key} = {_value(v[0])}  # {v[1]}"
    return f"{key} = {_value(v)}"


def to_toml(doc: dict, comments: list[str] = ()) -> str:
    """A scenario document as TOML: top-level keys, then [table]s and [[array]]s of tables, each
    with its [[table.sub]] arrays after it. Only what scenario files use."""
    lines = [f"# {c}" for c in comments]
    lines += [_pair(k, v) for k, v in doc.items() if not isinstance(v, (dict, list))]

    def table(name: str, body: dict, header: str) -> None:
        lines.extend(["", header])
        lines.extend(_pair(k, v) for k, v in body.items() if not isinstance(v, (dict, list)))
        for k, v in body.items():
            if isinstance(v, list):
                for entry in v:
                    table(f"{name}.{k}", entry, f"[[{name}.{k}]]")
            elif isinstance(v, dict):
                table(f"{name}.{k}", v, f"[{name}.{k}]")

    for k, v in doc.items():
        if isinstance(v, dict):
            table(k, v, f"[{k}]")
        elif isinstance(v, list):
            for entry in v:
                table(k, entry, f"[[{k}]]")
    return "\n".join(lines) + "\n"


# -- ground truth from the plant alone ------------------------------------------------------------
def _frames(scn: Scenario, plant: Plant, horizon_s: float):
    """Step the plant along the radar frame grid as the runner does; yields (k, t_s) with the plant
    at frame k (frame 0 before any step), up to horizon_s."""
    dt = 1.0 / scn.radar_hz
    k = 0
    while k / scn.radar_hz <= horizon_s + 1e-9:
        if k:
            plant.step(dt)
        yield k, k / scn.radar_hz
        k += 1


@dataclass
class NoAction:
    """The drive with nothing reacting: no driver, no brake request."""
    impact_k: int | None  # the radar frame by which the ego has hit the in-path target
    impact_s: float | None  # the plant's time at impact
    min_ttc_s: float | None  # the lowest in-path TTC at any radar frame (None: nothing ever closed)


def no_action(scn: Scenario, horizon_s: float | None = None) -> NoAction:
    plant = Plant(scn)
    min_ttc = None
    for k, _ in _frames(scn, plant, scn.duration_s if horizon_s is None else horizon_s):
        if plant.collided:
            return NoAction(k, plant.t_s, 0.0)
        ttc = plant.ttc_s()
        if ttc is not None:
            min_ttc = ttc if min_ttc is None else min(min_ttc, ttc)
    return NoAction(None, None, min_ttc)


def benign_check(scn: Scenario) -> tuple[bool, NoAction]:
    """Is the drive benign by its ground truth: no impact and the in-path TTC above
    BENIGN_MIN_TTC_S throughout, with nothing reacting?"""
    truth = no_action(scn)
    ok = truth.impact_k is None and (truth.min_ttc_s is None or truth.min_ttc_s > BENIGN_MIN_TTC_S)
    return ok, truth


def onset_s(scn: Scenario, threat: Target) -> float | None:
    """The first radar frame whose report shows `threat` closing on the ego at least at the radar's
    noise floor (the firmware's closing_min_mps: 2.5x a long-range radar's range-rate accuracy):
    its detection, or for a lead that only starts braking later, the first frame that shows it
    braking.
    Read from the reports themselves (Plant.radar), so the radar's latency and detection range
    count as they do for the firmware."""
    floor_mm_s = Settings().closing_min_mm_s
    latency_s = scn.radar.latency_ms / 1000
    plant = Plant(scn)
    for _, t in _frames(scn, plant, scn.duration_s):
        if plant.collided:
            return None
        # A lead that brakes later is a threat from its braking: before that, an ego that speeds
        # up closes on it too, but nothing then says it will stop (the frames that show it are the
        # first that could).
        if threat.brake_at_s is not None and t - latency_s < threat.brake_at_s - 1e-9:
            continue
        for report in plant.radar():
            if report["id"] == threat.id and report["range_rate"] <= -floor_mm_s:
                return t
    return None


def ttc_at(scn: Scenario, t_s: float) -> float | None:
    """Ground-truth in-path TTC at radar frame time t_s, nothing reacting."""
    plant = Plant(scn)
    for _, t in _frames(scn, plant, t_s):
        if plant.collided:
            return 0.0
    return plant.ttc_s()


def driver_only(scn: Scenario) -> Scenario:
    """A copy in which only the reference driver can brake (AEB off), reacting to WARNING."""
    out = copy.deepcopy(scn)
    out.aeb.enabled = False
    out.driver.reacts_to = "WARNING"
    return out


def stops_short(scn: Scenario, warn_k: int) -> bool:
    """Warned by a collision WARNING at radar frame warn_k and nothing else, does the reference
    driver stop short of the in-path target?"""
    plant = Plant(scn)
    give_up_s = warn_k / scn.radar_hz + GIVE_UP_S
    for k, t in _frames(scn, plant, give_up_s):
        if plant.collided:
            return False
        if k == warn_k:
            plant.on_alert(t, "WARNING", COLLISION, 0)
        elif k > warn_k and plant.ego.v_mps == 0.0:
            return True
    return not plant.collided  # still rolling but never hit (the target drew away)


def needed_warning_s(scn: Scenario) -> float | None:
    """The latest radar frame time at which a collision WARNING still lets the reference driver
    stop short, with the AEB off; None when not even a warning at t = 0 does; math.inf when
    nothing is hit within the drive anyway.

    Warning earlier never hurts (the driver brakes no later, so the ego is nowhere further
    ahead), so a binary search over the frames before the no-action impact finds it."""
    scn = driver_only(scn)
    impact_k = no_action(scn).impact_k
    if impact_k is None:
        return math.inf
    if not stops_short(scn, 0):
        return None
    lo, hi = 0, impact_k  # lo stops short; at hi the ego has already hit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if stops_short(scn, mid):
            lo = mid
        else:
            hi = mid
    return lo / scn.radar_hz


def deadline_s(needed_s: float | None, onset: float | None, confirm_n: int, radar_hz: float) -> float | None:
    """When the first collision WARNING must have come: when the reference driver needs it, but
    never before the threat is seen plus the confirmation frames. None when the driver could not
    stop even if warned at the first frame the threat is seen (unavoidable at detection)."""
    if needed_s is None or onset is None or needed_s < onset:
        return None
    return round(max(needed_s, onset + confirm_n / radar_hz), 6)  # on the frame grid, without float dust


# -- drives ------------------------------------------------------------------------------------
@dataclass
class Drive:
    kind: str  # "benign" or "critical"
    seed: int  # drawn by random.Random(seed)
    toml: str  # the scenario file: `takeover run` replays it
    scenario: Scenario
    params: dict  # the key parameters (evidence.json)
    draws: int = 1  # how many draws it took to pass the ground-truth check
    min_ttc_s: float | None = None  # benign: lowest in-path TTC with nothing reacting
    onset_s: float | None = None  # critical: first frame the radar reports the threat closing
    needed_s: float | None = None  # critical: latest WARNING the reference driver stops from
    impact_s: float | None = None  # critical: when it is hit with nothing reacting

    @property
    def deadline_s(self) -> float | None:
        return deadline_s(self.needed_s, self.onset_s, Settings().confirm_n, self.scenario.radar_hz)

    @property
    def unavoidable(self) -> bool:
        """The reference driver could not stop even if warned as the threat is first seen."""
        return self.kind == "critical" and self.deadline_s is None


def _r(x: float, digits: int = 1) -> float:
    return round(float(x), digits)


def _grid(t_s: float, hz: float = RADAR_HZ) -> float:
    """t_s rounded to the radar frame grid."""
    return round(t_s * hz) / hz


def _draw_benign(rng: random.Random, seed: int) -> tuple[dict, dict]:
    urban = rng.random() < 0.4
    ego_kph = _r(rng.uniform(30, 60) if urban else rng.uniform(60, 130))
    v = ego_kph * KPH
    duration = _r(rng.uniform(20, 30))
    targets: list[dict] = []
    params: dict = {"road": "urban" if urban else "highway", "ego_kph": ego_kph, "duration_s": duration}
    parts: list[str] = []

    def add(**spec) -> dict:
        targets.append({"id": len(targets) + 1, **spec})
        return targets[-1]

    if rng.random() < 0.8:
        style = rng.choice(("steady", "gentle", "pulls away"))
        headway = rng.uniform(1.5, 3.5)
        lead = add(range_m=_r(max(headway * v, 8.0)), speed_kph=_r(ego_kph + rng.uniform(-1, 3)))
        if style == "gentle":
            # Speeds up gently for a few seconds, then slows gently (|accel| <= 1 m/s^2) for the
            # rest of the drive, by no more than it gained plus 2 m/s: a lead easing off, not one
            # braking to a stop (a plant target brakes "to a stop", so the rate is what bounds it).
            accel, speeds_up_s = rng.uniform(0.2, 1.0), rng.uniform(2, 6)
            lead["accel_mps2"] = _r(accel, 2)
            lead["brake_at_s"] = _r(speeds_up_s)
            lead["brake_mps2"] = _r(min(rng.uniform(0.2, 1.0), (accel * speeds_up_s + 2) / (duration - speeds_up_s)), 2)
        elif style == "pulls away":
            if rng.random() < 0.5:
                lead["speed_kph"] = _r(ego_kph + rng.uniform(3, 20))
            else:
                lead["accel_mps2"] = _r(rng.uniform(0.3, 1.0), 2)
        params["lead"] = {"style": style, "headway_s": _r(headway, 2)}
        parts.append(f"lead {headway:.1f} s ahead ({style})")
    adjacent = rng.choice((0, 1, 1, 2, 3))
    for _ in range(adjacent):
        side = rng.choice((-1, 1))
        if rng.random() < 0.5:  # passing: faster, from behind or just ahead
            add(range_m=_r(rng.uniform(-40, 40)), lateral_m=_r(side * rng.uniform(3.3, 3.8), 2),
                speed_kph=_r(ego_kph + rng.uniform(5, 30)))
        else:  # slower, down to parked
            add(range_m=_r(rng.uniform(20, 150)), lateral_m=_r(side * rng.uniform(3.3, 3.8), 2),
                speed_kph=_r(ego_kph * rng.uniform(0, 0.85)))
    params["adjacent"] = adjacent
    if adjacent:
        parts.append(f"{adjacent} adjacent-lane car{'s' if adjacent > 1 else ''}")
    if rng.random() < 0.3:
        # Crosses the ego's lane while the ego is still crossing_ttc_s away: the in-path TTC at
        # the crossing is that, well above BENIGN_MIN_TTC_S. A 250 m radar sees it (Bosch LRR3).
        side = rng.choice((-1, 1))
        start = rng.uniform(15, 40)
        speed = rng.uniform(3, 15)
        crossing_ttc_s = rng.uniform(7.5, 12)
        enters_s = (start - 1.8) / speed
        add(range_m=_r(v * (enters_s + crossing_ttc_s)), lateral_m=_r(side * start),
            lateral_speed_mps=_r(-side * speed, 2), detect_range_m=250.0)
        params["crossing_ttc_s"] = _r(crossing_ttc_s, 2)
        parts.append(f"crossing {v * crossing_ttc_s:.0f} m ahead")
    if rng.random() < 0.35:
        # A false return in the ego's path for 1-3 frames (multipath, a bridge, a sign): mostly
        # standing still, so closing at the ego's speed. Placed at ghost_m when it appears.
        frames = rng.randint(1, 3)
        ghost_m = rng.uniform(15, 80)
        speed_kph = 0.0 if rng.random() < 0.7 else _r(ego_kph * rng.uniform(0, 0.5))
        k = rng.randint(RADAR_HZ, int((duration - 2) * RADAR_HZ))
        at_s = k / RADAR_HZ
        add(range_m=_r(ghost_m + (v - speed_kph * KPH) * at_s, 2), lateral_m=_r(rng.uniform(-1, 1), 2),
            speed_kph=speed_kph, ghost=True,
            # just before frame k and just before frame k + frames: exactly `frames` frames
            appear_s=_r(at_s - 0.01, 3), vanish_s=_r((k + frames) / RADAR_HZ - 0.01, 3))
        params["ghost"] = {"frames": frames, "range_m": _r(ghost_m), "at_s": at_s}
        parts.append(f"ghost of {frames} frame{'s' if frames > 1 else ''} at {ghost_m:.0f} m")
    if rng.random() < 0.25:
        side = rng.choice((-1, 1))
        add(range_m=_r(v * rng.uniform(1.5, 4) + 5), lateral_m=_r(side * 3.5, 2),
            speed_kph=_r(ego_kph + rng.uniform(5, 25)), lane_change_at_s=_r(rng.uniform(1, duration - 5)),
            lane_change_to_m=0.0, lane_change_s=_r(rng.uniform(1.5, 3.0), 2))
        params["cut_in"] = True
        parts.append("faster car cutting in far ahead")
    if rng.random() < 0.3:
        # Bridges and sign gantries over the lane (4.6-7 m up, standing still): a radar with
        # elevation reports them; the car drives under.
        for _ in range(rng.choice((1, 1, 2))):
            add(range_m=_r(rng.uniform(100, 600)), lateral_m=_r(rng.uniform(-1.0, 1.0), 2),
                height_m=_r(rng.uniform(4.6, 7.0), 2), overhead=True)
        params["overhead"] = True
        parts.append("a bridge or gantry over the lane")
    doc = {"name": f"evidence-benign-{seed}", "description": "",
           "reference": f"takeover evidence: benign drive, random.Random({seed})",
           "duration_s": duration, "radar_hz": RADAR_HZ, "ego": {"speed_kph": ego_kph}, "target": targets}
    _road_and_speed(rng, doc, params, parts, v, benign=True)
    if rng.random() < 0.6:
        noise_m, noise_mps = _r(rng.uniform(0.02, 0.25), 3), _r(rng.uniform(0.02, 0.12), 3)
        doc["radar"] = {"range_noise_m": noise_m, "rate_noise_mps": noise_mps, "seed": seed}
        params["noise"] = {"range_m": noise_m, "rate_mps": noise_mps}
        parts.append(f"radar noise {noise_m:g} m / {noise_mps:g} m/s")
    doc["description"] = (f"Benign {params['road']} drive at {ego_kph:g} km/h for {duration:g} s: "
                          + (", ".join(parts) or "empty road"))
    return doc, params


def _road_and_speed(rng: random.Random, doc: dict, params: dict, parts: list[str], v: float, benign: bool) -> None:
    """Now and then a curve (radius 300-1500 m, no tighter than 2 m/s^2 of lateral acceleration
    at the ego's speed) and the ego's own speed change; with either, or a structure over the
    road, the radar measures every target's height (protocol revision 2)."""
    if rng.random() < 0.3:
        radius = max(rng.uniform(300, 1500), v * v / 2.0)
        curvature = _r(rng.choice((-1, 1)) / radius, 6)
        doc["road"] = {"curvature_per_m": curvature}
        params["curve_radius_m"] = _r(1 / curvature)
        parts.append(f"a {radius:.0f} m {'left' if curvature > 0 else 'right'}-hand curve")
    if rng.random() < (0.3 if benign else 0.2):
        accel = _r(rng.uniform(0.5, 1.5) if not benign or rng.random() < 0.5 else -rng.uniform(0.3, 1.0), 2)
        until = _r(max(10.0, v / KPH + (rng.uniform(10, 30) if accel > 0 else -rng.uniform(10, 30))))
        doc["ego"]["accel"] = [{"t_s": _r(rng.uniform(0.5, 5.0)), "accel_mps2": accel, "until_kph": until}]
        params["ego_accel"] = {"accel_mps2": accel, "until_kph": until}
        parts.append(f"the ego {'speeds up' if accel > 0 else 'slows'} to {until:g} km/h")
    if "road" in doc or any(t.get("overhead") for t in doc["target"]):
        for t in doc["target"]:
            t.setdefault("height_m", _r(rng.uniform(0.4, 1.0), 2))


def benign_drive(seed: int) -> Drive:
    """A benign drive drawn by random.Random(seed), redrawn until its ground truth is benign."""
    rng = random.Random(seed)
    for draw in range(1, MAX_DRAWS + 1):
        doc, params = _draw_benign(rng, seed)
        if not doc["target"]:
            continue  # an empty road proves nothing
        expect = {"max_level": ("NOTICE", "benign: no WARNING or higher, so no brake request"),
                  "no_collision": True}
        scn = parse(to_toml({**doc, "expect": expect}), f"benign drive {seed}")
        ok, truth = benign_check(scn)
        if not ok:
            continue
        low = "never closes" if truth.min_ttc_s is None else f"never below {truth.min_ttc_s:.1f} s"
        text = to_toml({**doc, "expect": expect}, [
            f"takeover evidence: benign drive, seed {seed} (random.Random({seed})); `takeover run FILE` replays it.",
            f"Ground truth with nothing reacting: no impact, in-path TTC {low} (a benign drive stays "
            f"above {BENIGN_MIN_TTC_S:g} s).",
        ])
        return Drive("benign", seed, text, parse(text, f"benign drive {seed}"), params, draw,
                     min_ttc_s=truth.min_ttc_s)
    raise RuntimeError(f"no benign drive for seed {seed} in {MAX_DRAWS} draws")


def _draw_critical(rng: random.Random, seed: int) -> tuple[dict, dict]:
    ego_kph = _r(rng.uniform(30, 130))
    v = ego_kph * KPH
    kind = rng.choice(("stationary", "slow", "braking"))
    detect = _r(rng.uniform(40, 200))
    threat: dict = {"id": 1, "detect_range_m": detect}
    params: dict = {"threat": kind, "ego_kph": ego_kph, "detect_range_m": detect}
    if kind == "braking":  # CCRb-like: a lead at the ego's speed brakes to a stop
        headway = rng.uniform(0.8, 2.5)
        threat.update(range_m=_r(headway * v), speed_kph=ego_kph, brake_at_s=_grid(rng.uniform(1, 4)),
                      brake_mps2=_r(rng.uniform(3, 8)))
        params.update(headway_s=_r(headway, 2), brake_at_s=threat["brake_at_s"], brake_mps2=threat["brake_mps2"])
        what = (f"a lead {headway:.1f} s ahead brakes at {threat['brake_mps2']:g} m/s^2 from "
                f"{threat['brake_at_s']:g} s")
    else:
        lead_kph = 0.0 if kind == "stationary" else _r(ego_kph * rng.uniform(0.2, 0.6))
        closing = v - lead_kph * KPH
        # Out of radar range at first, coming into it after lead_in; where that would put the
        # impact too late for the drive, it starts 6-12 s away instead (in radar range or not).
        lead_in = rng.uniform(0.5, 3.0)
        range_m = detect + closing * lead_in
        if range_m / closing > CRITICAL_MAX_IMPACT_S:
            range_m = closing * rng.uniform(6, CRITICAL_MAX_IMPACT_S)
        threat.update(range_m=_r(range_m), speed_kph=lead_kph)
        params.update(lead_kph=lead_kph, range_m=threat["range_m"])
        what = "a stopped car" if kind == "stationary" else f"a car at {lead_kph:g} km/h"
        what += f" {threat['range_m']:g} m ahead"
    distracted = rng.random() < 0.25
    look_away_s = rng.uniform(0, 1.0)
    targets = [threat]
    extras: list[str] = []
    if kind == "stationary" and rng.random() < 0.25:
        # A bridge right over the stopped car: its return must not mask the car's.
        targets.append({"id": 2, "range_m": threat["range_m"], "detect_range_m": detect,
                        "height_m": _r(rng.uniform(4.6, 7.0), 2), "overhead": True})
        params["bridge_over_it"] = True
        extras.append("under a bridge")
    doc = {"name": f"evidence-critical-{seed}", "description": "",
           "reference": f"takeover evidence: critical drive, random.Random({seed})",
           "duration_s": 60.0, "radar_hz": RADAR_HZ, "ego": {"speed_kph": ego_kph}, "target": targets,
           "driver": {"reacts_to": "WARNING"}, "aeb": {"enabled": True}}
    _road_and_speed(rng, doc, params, extras, v, benign=False)
    what += "".join(f", {e}" for e in extras)
    params["driver"] = "distracted" if distracted else "attentive"
    params["look_away_s"] = _r(look_away_s, 2) if distracted else None
    doc["description"] = (f"Critical drive at {ego_kph:g} km/h: {what}, radar range {detect:g} m; "
                          f"{params['driver']} driver reacting to WARNING, AEB on")
    return doc, params


def critical_drive(seed: int) -> Drive:
    """A critical drive drawn by random.Random(seed): hit when nothing reacts, within the drive."""
    rng = random.Random(seed)
    origin = f"critical drive {seed}"
    for draw in range(1, MAX_DRAWS + 1):
        doc, params = _draw_critical(rng, seed)
        draft = parse(to_toml(doc), origin)
        truth = no_action(draft)
        if truth.impact_k is None or truth.impact_s > CRITICAL_MAX_IMPACT_S:
            continue
        onset = onset_s(draft, draft.targets[0])
        if onset is None:
            continue
        # Long enough for a driver warned at the no-action impact time at the latest to stop,
        # plus the second the run holds a stopped ego: it ends in a stop or a hit, not before.
        v, d = doc["ego"]["speed_kph"] * KPH, draft.driver
        to_stop_s = draft.hmi.latency_ms / 1000 + d.reaction_distracted_s + d.brake_ramp_s + v / d.brake_mps2
        doc["duration_s"] = min(20.0, max(10.0, math.ceil(2 * (truth.impact_s + to_stop_s + STOPPED_HOLD_S)) / 2))
        if params["driver"] == "distracted":
            away_s = max(0.0, _grid(onset - params["look_away_s"]))
            doc["driver"]["state"] = [{"t_s": (away_s, "eyes off the road as the threat comes"),
                                       "eyes_on_road": False}]
        scn = parse(to_toml(doc), origin)
        needed = needed_warning_s(scn)
        deadline = deadline_s(needed, onset, Settings().confirm_n, scn.radar_hz)
        expect: dict = {"min_level": "WARNING"}
        notes = [f"takeover evidence: critical drive, seed {seed} (random.Random({seed})); "
                 f"`takeover run FILE` replays it.",
                 f"Ground truth: with nothing reacting the ego hits the target at {truth.impact_s:.2f} s; the "
                 f"radar first reports it closing at {onset:.2f} s."]
        if deadline is None:
            notes.append("Unavoidable for the reference driver at detection: warned at that frame, "
                         "with the AEB off, they still hit it.")
        else:
            notes.append(f"The reference driver (AEB off) still stops if warned by {needed:.2f} s: the first "
                         f"collision WARNING is due by {deadline:.2f} s (allowing {Settings().confirm_n} "
                         f"confirmation frames after {onset:.2f} s).")
            ttc = ttc_at(scn, deadline)
            if ttc:
                # The in-path TTC falls steadily until someone brakes, and nothing brakes before
                # the first collision WARNING: a TTC floor is that deadline.
                expect["min_warning_ttc_s"] = (math.floor(ttc * 1000) / 1000, f"the TTC at {deadline:.2f} s")
                expect["no_collision"] = True
                notes.append("`takeover run` judges the first alert whose own cause is collision; the "
                             "evidence also counts a collision WARNING shown under a driver-monitor alert.")
        text = to_toml({**doc, "expect": expect}, notes)
        return Drive("critical", seed, text, parse(text, origin), params, draw, onset_s=onset,
                     needed_s=needed, impact_s=truth.impact_s)
    raise RuntimeError(f"no critical drive for seed {seed} in {MAX_DRAWS} draws")


def make_drive(kind: str, seed: int) -> Drive:
    return benign_drive(seed) if kind == "benign" else critical_drive(seed)


def plan(benign: int, critical: int, seed: int) -> list[tuple[str, int]]:
    """(kind, drive seed) of every drive, in running order: drive i of a kind is seed + i."""
    return [("benign", seed + i) for i in range(benign)] + [("critical", seed + i) for i in range(critical)]


# -- metrics on one run ------------------------------------------------------------------------
def _at_least_warning(level: str) -> bool:
    return level in LEVELS and LEVELS.index(level) >= WARNING


def collision_cue(alert: dict) -> str | None:
    """The collision level an alert shows: its own, or the collision side it carries under a
    driver-monitor winner (`also`: the cue shares the outputs, and the driver reacts to it)."""
    if alert["cause"] == COLLISION:
        return alert["level"]
    also = alert.get("also")
    if also and also["cause"] == COLLISION:
        return also["level"]
    return None


def first_warning(alerts: list[dict]) -> dict | None:
    """The first alert at WARNING or higher, any cause."""
    return next((a for a in alerts if _at_least_warning(a["level"])), None)


def first_collision_warning_s(alerts: list[dict]) -> float | None:
    """When the first collision cue at WARNING or higher arrived (scenario time)."""
    for a in alerts:
        cue = collision_cue(a)
        if cue is not None and _at_least_warning(cue) and a["t_s"] is not None:
            return a["t_s"]
    return None


def from_ghost(drive: Drive, alert: dict) -> bool:
    """Whether a collision alert came while the drive's radar ghost of 2 or 3 frames was being
    reported (its frames, shifted by the radar latency, and the one after).

    Such an alert is allowed: until the brake request's longer confirmation, a false return is
    indistinguishable from a real object that has just come into view, and a real one 10 m ahead
    must be warned about at once. The brake request itself stays a target."""
    ghost = drive.params.get("ghost")
    if not ghost or ghost["frames"] < 2 or alert["cause"] != COLLISION or alert["t_s"] is None:
        return False
    hz = drive.scenario.radar_hz
    start = ghost["at_s"] + drive.scenario.radar.latency_ms / 1000
    return start - 1e-9 <= alert["t_s"] <= start + ghost["frames"] / hz + 1e-9


def any_brake(alerts: list[dict]) -> bool:
    return any(a["outputs"] & OUT_BRAKE for a in alerts)


def brake_releases(alerts: list[dict]) -> list[dict]:
    """Alerts that drop the brake request the alert before them held."""
    return [a for prev, a in zip(alerts, alerts[1:]) if prev["outputs"] & OUT_BRAKE and not a["outputs"] & OUT_BRAKE]


def late(first_s: float | None, deadline: float | None) -> bool | None:
    """Did the first collision WARNING miss its deadline? None when there is none (unavoidable)."""
    if deadline is None:
        return None
    return first_s is None or first_s > deadline + 1e-6


def replay(scn: Scenario, alerts: list[dict], until_s: float) -> list[dict]:
    """The run's ground truth again, at every radar frame up to until_s: a fresh plant fed the
    run's alerts at their scenario times, as the runner fed them (the collision cue a driver
    reacts to, the outputs the AEB applies). Rows: t_s, gap_m, closing_mps (None when nothing in
    the path closes; NaN when it does at a zero gap).

    Computed here rather than read from the run's trace for the closing speed itself (the trace
    has a rounded TTC) and to check the two agree (closing_truth)."""
    plant = Plant(scn)
    fed = [a for a in alerts if a.get("origin") != "clock" and a["t_s"] is not None]
    rows = []
    i = 0
    for k, t in _frames(scn, plant, until_s):
        if plant.collided:
            break
        gap, ttc = plant.gap_m(), plant.ttc_s()
        closing = None if ttc is None else (gap / ttc if ttc > 0 else math.nan)
        rows.append({"t_s": t, "gap_m": gap, "closing_mps": closing})
        # The runner feeds an alert to the plant after stepping to the last radar frame at or
        # before the frame (radar or driver) that caused it.
        while i < len(fed) and fed[i]["t_s"] < (k + 1) / scn.radar_hz - 1e-9:
            a = fed[i]
            cue = a.get("also") if (a.get("also") or {}).get("cause") == COLLISION else a
            plant.on_alert(a["t_s"], cue["level"], cue["cause"], a["outputs"])
            i += 1
    return rows


def _row_at(rows: list[dict], t_s: float) -> dict | None:
    """The last row at or before t_s."""
    best = None
    for row in rows:
        if row["t_s"] > t_s + 1e-9:
            break
        best = row
    return best


def _trace_rows(trace: list[dict]) -> list[dict]:
    """The run's own trace as ground-truth rows: closing when its TTC is set."""
    def closing(row):
        ttc = row["ttc_s"]
        return None if ttc is None else (row["gap_m"] / ttc if ttc else math.nan)
    return [{"t_s": row["t_s"], "gap_m": row["gap_m"], "closing_mps": closing(row)} for row in trace]


def closing_truth(scn: Scenario, alerts: list[dict], trace: list[dict] | None,
                  until_s: float) -> tuple[list[dict], str]:
    """Ground truth rows up to until_s and where they come from: "replay" when the replayed plant
    matches the run's trace (gap within 2 cm, its rounding), else "trace", the run's own rows, so
    a runner that closes the loop differently from the replay cannot fool the figure."""
    rows = replay(scn, alerts, until_s)
    if not trace:
        return rows, "replay"
    by_t = {round(r["t_s"], 3): r for r in rows}
    for row in trace:
        mine = by_t.get(round(row["t_s"], 3))
        if mine is None:
            continue
        if (mine["gap_m"] is None) != (row["gap_m"] is None) or (
                mine["gap_m"] is not None and abs(mine["gap_m"] - row["gap_m"]) > 0.02):
            return _trace_rows(trace), "trace"
    return rows, "replay"


def releases_while_closing(scn: Scenario, alerts: list[dict],
                           trace: list[dict] | None = None) -> tuple[list[dict], str]:
    """Every brake release, with the ground truth at its time: closing (bool), closing_mps, gap_m."""
    released = brake_releases(alerts)
    if not released:
        return [], "replay"
    until = max((a["t_s"] for a in released if a["t_s"] is not None), default=0.0)
    rows, source = closing_truth(scn, alerts, trace, until)
    out = []
    for a in released:
        row = None if a["t_s"] is None else _row_at(rows, a["t_s"])
        closing_mps = None if row is None else row["closing_mps"]
        out.append({"t_s": a["t_s"], "level": a["level"], "cause": a["cause"],
                    "closing": closing_mps is not None and (math.isnan(closing_mps) or closing_mps > 0),
                    "closing_mps": None if closing_mps is None or math.isnan(closing_mps) else round(closing_mps, 2),
                    "gap_m": None if row is None or row["gap_m"] is None else round(row["gap_m"], 2)})
    return out, source


@dataclass
class Result:
    kind: str
    seed: int
    name: str
    description: str
    params: dict
    draws: int
    outcome: dict  # the run's (takeover.runner): collision, impact_speed_kph, min_gap_m, ...
    frames: dict  # sent / processed / dropped / rejected
    max_level: str
    alerts: int
    first_warning: dict | None = None  # the first alert at WARNING or higher, any cause: t_s, level, cause
    brake: bool = False  # any brake request
    first_collision_warning_s: float | None = None
    onset_s: float | None = None
    needed_s: float | None = None
    deadline_s: float | None = None
    unavoidable: bool = False
    late: bool | None = None
    min_ttc_s: float | None = None  # benign ground truth
    releases: list[dict] = field(default_factory=list)
    truth_source: str = "replay"
    missed: list[str] = field(default_factory=list)  # keys of TARGETS this drive misses
    ghost_warning: bool = False  # benign: its first WARNING came while a 2-3 frame ghost was reported

    @property
    def releases_while_closing(self) -> int:
        return sum(r["closing"] for r in self.releases)

    def to_json(self) -> dict:
        out = asdict(self)
        if out["needed_s"] == math.inf:
            out["needed_s"] = None  # JSON has no infinity; never hit, nothing is needed
        return out


def evaluate(drive: Drive, alerts: list[dict], outcome: dict, frames: dict | None = None,
             trace: list[dict] | None = None, max_level: str | None = None) -> Result:
    """The figures of one drive from what its run raised and how it ended."""
    first = first_warning(alerts)
    releases, source = releases_while_closing(drive.scenario, alerts, trace)
    levels = [LEVELS.index(a["level"]) for a in alerts if a["level"] in LEVELS]
    r = Result(drive.kind, drive.seed, drive.scenario.name, drive.scenario.description, drive.params, drive.draws,
               outcome, frames or {}, max_level or LEVELS[max(levels, default=0)], len(alerts),
               first_warning=None if first is None else {k: first[k] for k in ("t_s", "level", "cause")},
               brake=any_brake(alerts), first_collision_warning_s=first_collision_warning_s(alerts),
               releases=releases, truth_source=source, min_ttc_s=drive.min_ttc_s)
    if drive.kind == "critical":
        r.onset_s, r.needed_s, r.deadline_s = drive.onset_s, drive.needed_s, drive.deadline_s
        r.unavoidable = drive.unavoidable
        r.late = late(r.first_collision_warning_s, r.deadline_s)
    else:
        if r.brake:
            r.missed.append("benign_brake")
        if first is not None:
            if from_ghost(drive, first):
                r.ghost_warning = True
            else:
                r.missed.append("benign_warning")
    if r.releases_while_closing:
        r.missed.append("brake_release")
    if r.late:
        r.missed.append("warning_in_time")
    return r


def run_drive(dev, drive: Drive, progress=None) -> Result:
    """Run one drive on an open device, in lockstep (the closed loop gives the same outcome at any
    pace), and judge it."""
    from takeover.runner import Pace, run_scenario  # the board side: the pure parts need no link

    run = run_scenario(dev, drive.scenario, Pace(lockstep=True), progress=progress, measure_link=False)
    return evaluate(drive, run.alerts, run.outcome, run.frames, run.trace, run.max_level)


# -- figures, targets, report -------------------------------------------------------------------
def _rate(n: int, of: int) -> float | None:
    return None if of == 0 else n / of


def figures(results: list[Result]) -> dict:
    benign = [r for r in results if r.kind == "benign"]
    critical = [r for r in results if r.kind == "critical"]
    judged = [r for r in critical if not r.unavoidable]
    impacts = [r.outcome["impact_speed_kph"] for r in critical if r.outcome.get("collision")]

    def releases(rs):
        return {"events": sum(r.releases_while_closing for r in rs),
                "drives": sum(1 for r in rs if r.releases_while_closing)}

    warned = sum(1 for r in benign if r.first_warning is not None and not r.ghost_warning)
    ghosts = [r for r in benign if (r.params.get("ghost") or {}).get("frames", 0) >= 2]
    ghost_warned = sum(1 for r in benign if r.ghost_warning)
    braked = sum(1 for r in benign if r.brake)
    late_n = sum(1 for r in judged if r.late)
    return {
        "benign": {"drives": len(benign), "warning": warned, "warning_rate": _rate(warned, len(benign)),
                   "ghost_drives": len(ghosts), "ghost_warning": ghost_warned,
                   "brake": braked, "brake_rate": _rate(braked, len(benign)),
                   "collisions": sum(1 for r in benign if r.outcome.get("collision")),
                   "releases_while_closing": releases(benign)},
        "critical": {"drives": len(critical), "unavoidable": len(critical) - len(judged), "judged": len(judged),
                     "late": late_n, "late_rate": _rate(late_n, len(judged)),
                     "collisions": len(impacts),
                     "impact_kph": {"p50": _pct(impacts, 50), "p95": _pct(impacts, 95),
                                    "max": max(impacts) if impacts else None},
                     "releases_while_closing": releases(critical)},
        "releases_while_closing": releases(results),
    }


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def verdicts(results: list[Result]) -> list[dict]:
    """Each target: met or not, how many drives miss it and their (kind, seed)."""
    out = []
    for key, text in TARGETS:
        missing = [r for r in results if key in r.missed]
        out.append({"key": key, "target": text, "met": not missing, "drives": len(missing),
                    "seeds": [f"{r.kind} {r.seed}" for r in missing]})
    return out


def _n_of(n: int, of: int) -> str:
    return f"{n} of {of}" + (f" ({100 * n / of:.1f} %)" if of else "")


def _kph(v: float | None) -> str:
    return "-" if v is None else f"{v:g} km/h"


def figure_rows(fig: dict) -> list[tuple[str, str]]:
    """(figure, value) rows, as printed and in summary.md."""
    b, c = fig["benign"], fig["critical"]
    imp = c["impact_kph"]
    return [
        ("benign drives with WARNING or higher (any cause), a ghost's aside", _n_of(b["warning"], b["drives"])),
        ("benign drives with a 2-3 frame ghost in the path that raised WARNING or higher",
         _n_of(b["ghost_warning"], b["ghost_drives"])),
        ("benign drives with a brake request", _n_of(b["brake"], b["drives"])),
        ("benign drives ending in a collision", str(b["collisions"])),
        ("critical drives with a late first collision WARNING", _n_of(c["late"], c["judged"])
         + f"; {c['unavoidable']} more unavoidable for the reference driver at detection"),
        ("critical drives ending in a collision", _n_of(c["collisions"], c["drives"])),
        ("relative impact speed p50 / p95 / max", f"{_kph(imp['p50'])} / {_kph(imp['p95'])} / {_kph(imp['max'])}"),
        ("brake releases while closing (benign, critical)",
         f"{fig['releases_while_closing']['events']} in {fig['releases_while_closing']['drives']} drives "
         f"({b['releases_while_closing']['events']}, {c['releases_while_closing']['events']})"),
    ]


def verdict_line(v: dict) -> str:
    where = ""
    if v["drives"]:
        shown = ", ".join(v["seeds"][:12]) + (", ..." if len(v["seeds"]) > 12 else "")
        where = f": {v['drives']} drive{'s' if v['drives'] > 1 else ''} ({shown})"
    return f"{'PASS' if v['met'] else 'FAIL'}  {v['target']}{where}"


def describe(r: Result) -> str:
    """One line on a drive that missed a target: what happened, when."""
    what = []
    if "benign_warning" in r.missed:
        w = r.first_warning
        what.append(f"{w['level']} {w['cause']} at {w['t_s']} s")
    if "benign_brake" in r.missed:
        what.append("brake request")
    if "warning_in_time" in r.missed:
        got = "none" if r.first_collision_warning_s is None else f"{r.first_collision_warning_s:.2f} s"
        what.append(f"first collision WARNING {got}, due by {r.deadline_s:.2f} s")
    for rel in r.releases:
        if rel["closing"]:
            speed = "" if rel["closing_mps"] is None else f" at {rel['closing_mps']} m/s"
            what.append(f"brake released at {rel['t_s']} s while closing{speed} (gap {rel['gap_m']} m)")
    return f"{r.kind} {r.seed}: " + "; ".join(what)


def write_json(path: Path, results: list[Result], meta: dict) -> None:
    doc = {**meta, "drives_done": len(results), "confirm_n": Settings().confirm_n,
           "benign_min_ttc_s": BENIGN_MIN_TTC_S, "figures": figures(results), "targets": verdicts(results),
           "drives": [r.to_json() for r in results]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)  # a Ctrl-C while writing leaves the last whole file, not half of one


def write_summary(path: Path, results: list[Result], meta: dict, saved: list[Path] = ()) -> None:
    fig = figures(results)
    lines = [f"# Evidence: {fig['benign']['drives']} benign and {fig['critical']['drives']} critical drives",
             "", f"Reproduce: `{meta['command']}`", "",
             f"Board {meta.get('board') or '?'} on {meta['port']}, firmware {meta.get('firmware') or '?'}; "
             f"{len(results)} drives in {meta['wall_s']:.1f} s ({meta['drives_per_s']:.2f} drives/s), lockstep."]
    if meta.get("interrupted"):
        lines += ["", f"**Interrupted** after {len(results)} of {meta['planned']} drives: the figures cover "
                      "those only."]
    lines += ["", "| figure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in figure_rows(fig)]
    lines += ["", "| target | result | drives missing it |", "|---|---|---|"]
    for v in verdicts(results):
        lines.append(f"| {v['target']} | {'PASS' if v['met'] else 'FAIL'} | "
                     f"{', '.join(v['seeds']) or '-'} |")
    missed = [r for r in results if r.missed]
    if missed:
        lines += ["", "## Drives that missed a target", ""]
        lines += [f"- {describe(r)} ({r.description})" for r in missed]
    if saved:
        lines += ["", "Saved for `takeover run FILE`: " + ", ".join(f"`{p}`" for p in saved)]
    lines += ["", "Definitions: docs/evidence.md."]
    path.write_text("\n".join(lines) + "\n")


def save(folder: Path, drive: Drive) -> Path:
    """Write a drive's scenario file into folder (`takeover run` replays it); returns its path."""
    path = folder / f"{drive.scenario.name}.toml"
    path.write_text(drive.toml)
    return path

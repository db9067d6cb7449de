"""Ground truth: ego and target kinematics, the radar's view of them, the driver, the brakes.

Positions are metres along the road from the ego's front bumper at t = 0; a target's `x_m` is its
rear. The loop closes through the firmware's alerts:
- an alert reaches the driver [hmi] latency_ms after the frame that caused it (display, chime);
- the reference driver (scenario [driver]) starts braking after the first collision alert at or
  above `reacts_to`: `reaction_s` after perceiving it, or `reaction_distracted_s` (2.0 s, Green
  2000) when the eyes were off the road or closed then or in the `refocus_s` before; the braking
  builds up over `brake_ramp_s` to `brake_mps2` (model "r157", the default: UN R157's reference
  driver, 1.15 s, 0.6 s ramp, 0.774 g; model "step": 1.2 s, then 7.6 m/s^2 at once).
  Driver-monitor alerts ask for attention, not braking, so they never trigger it;
- the brake request (collision EMERGENCY) is applied by the plant after the actuator delay at the
  AEB deceleration (scenario [aeb]; defaults 0.2 s, 8.3 m/s^2 = R157 reference AEB 0.85 g), and
  released the same delay after the firmware withdraws it;
- the minimal-risk request (driver-monitor EMERGENCY: unresponsive driver) is applied the same way
  at `mrm_decel_mps2` (default 3 m/s^2; R157 caps a minimal-risk manoeuvre at 4 m/s^2).
The ego's deceleration is the largest of the three; while none brakes, it follows its own
[[ego.accel]] timeline. The radar reports the road as it was [radar] latency_ms before the frame
is sent. On a curve ([road] curvature_per_m, constant) the ego keeps to its lane's centre and a
target's lateral_m is its offset from it along the road; the radar, which looks straight ahead,
sees it offset by curvature x range^2 / 2 more (the small-angle view: 22.5 m at 150 m on a 500 m
curve, where the exact chord gives 22.3 m), and the ego's yaw rate is curvature x speed.

Motion is exact for a constant acceleration over each step (`substeps` per radar frame): a
body that stops within a step stops where the formula says, not a step later; an impact is
found within its step, at the speed the bodies met at. The driver's ramp is taken at the middle
of each step (its mean over the step). Time is the step count over the step rate, never a sum.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from tkfw.alerts import CAUSES, CAUSE_COLLISION, LEVELS, OUT_BRAKE, OUT_MRM

from takeover.scenario import OVERLAP_M, Driver, Scenario, Target

KPH = 1 / 3.6
STOPPED_HOLD_S = 1.0  # a run ends this long after the ego has come to a stop (docs/scenarios.md)


def advance(x_m: float, v_mps: float, accel: float, h: float) -> tuple[float, float]:
    """Position and speed after h seconds at a constant acceleration; a body that slows to a
    stop stays stopped (it never reverses)."""
    if accel < 0 and v_mps + accel * h <= 0.0:
        return x_m + v_mps * v_mps / (-2.0 * accel), 0.0
    return x_m + v_mps * h + 0.5 * accel * h * h, v_mps + accel * h


@dataclass
class Body:
    x_m: float
    v_mps: float
    lateral_m: float = 0.0


class TargetState:
    def __init__(self, spec: Target):
        self.spec = spec
        self.body = Body(spec.range_m, spec.speed_kph * KPH, spec.lateral_m)
        self.accel = 0.0  # over the current step

    def accel_at(self, t_s: float) -> float:
        s = self.spec
        if s.brake_at_s is not None and t_s >= s.brake_at_s:
            return -s.brake_mps2
        return s.accel_mps2

    def lateral_at(self, t_s: float) -> float:
        """The steady lateral motion from t = 0, plus the lane change's share by t_s."""
        s = self.spec
        lateral = s.lateral_m + s.lateral_speed_mps * t_s
        if s.lane_change_at_s is not None and t_s >= s.lane_change_at_s:
            frac = min(1.0, (t_s - s.lane_change_at_s) / max(s.lane_change_s, 1e-9))
            lateral += (s.lane_change_to_m - s.lateral_m) * frac
        return lateral

    def step(self, t_s: float, h: float) -> None:
        b = self.body
        self.accel = self.accel_at(t_s)
        b.x_m, b.v_mps = advance(b.x_m, b.v_mps, self.accel, h)
        b.lateral_m = self.lateral_at(t_s + h)

    def visible(self, t_s: float) -> bool:
        s = self.spec
        return t_s >= s.appear_s and (s.vanish_s is None or t_s < s.vanish_s)


class Plant:
    def __init__(self, scenario: Scenario, substeps: int = 4):
        self.scenario = scenario
        self.t_s = 0.0
        self.substeps = substeps
        # Time is the substep count over the substep rate (80 a second at 20 Hz), from the last
        # change of step: summing 0.0125 s steps drifts (1.0 s came out as 0.99999...), and a
        # target due at 1.0 s missed the frame at 1.0 s.
        self._t0_s = 0.0
        self._h = 0.0
        self._rate = 0.0
        self._k = 0
        self.ego = Body(0.0, scenario.ego.speed_kph * KPH)
        self.targets = [TargetState(t) for t in scenario.targets]
        self.driver = scenario.driver
        self.aeb = scenario.aeb
        self.hmi_s = scenario.hmi.latency_ms / 1000
        self._rng = random.Random(scenario.radar.seed)
        self.collided = False
        self.impact_speed_mps = 0.0
        self.collision_t_s: float | None = None
        self.min_gap_m = self.gap_m()
        self.driver_brake_at_s: float | None = None  # when the reference driver's foot lands
        self.driver_reacted_to: str | None = None
        self._brake_changes: list[tuple[float, bool]] = []  # (effective time, requested)
        self._mrm_changes: list[tuple[float, bool]] = []
        self.aeb_active = False
        self.mrm_active = False
        self.stopped_t_s: float | None = None
        # What the radar saw, newest last, one entry per step: (t_s, ego x, ego v, per target
        # (x, v, lateral)), as far back as its latency reaches.
        self._latency_s = scenario.radar.latency_ms / 1000
        self._seen: deque = deque()
        self._remember()

    # -- the loop closes here ---------------------------------------------------------------
    def driver_state(self, t_s: float) -> dict:
        """What the driver frames say at t_s: the scenario's timeline, except that a reference
        driver who has started braking for a collision alert is looking at the road, hands on."""
        state = self.driver.state_at(t_s)
        if self.driver_brake_at_s is not None and t_s >= self.driver_brake_at_s:
            state = {**state, "hands_on": True, "eyes_on_road": True, "eyes_closed": False}
        return state

    def on_alert(self, t_s: float, level: str, cause: str, outputs: int) -> None:
        """An alert (level and cause names, ALERT outputs bits) left the board for the frame sent
        at scenario time t_s. The driver perceives it the HMI latency later."""
        driver = self.driver
        reacts_to = driver.reacts_to
        if (self.driver_brake_at_s is None and reacts_to != "never" and cause == CAUSES[CAUSE_COLLISION]
                and level in LEVELS and LEVELS.index(level) >= LEVELS.index(reacts_to)):
            seen_s = t_s + self.hmi_s
            reaction = driver.reaction_distracted_s if driver.distracted(seen_s) else driver.reaction_s
            self.driver_brake_at_s = seen_s + reaction
            self.driver_reacted_to = level
        if self.aeb.enabled:
            effective_s = t_s + self.aeb.delay_s
            self._brake_changes.append((effective_s, bool(outputs & OUT_BRAKE)))
            self._mrm_changes.append((effective_s, bool(outputs & OUT_MRM)))

    def driver_decel(self, t_s: float) -> float:
        """The reference driver's deceleration at t_s: 0 before the foot lands, then the ramp."""
        start = self.driver_brake_at_s
        if start is None or t_s < start:
            return 0.0
        ramp = self.driver.brake_ramp_s
        full = self.driver.brake_mps2
        return full if ramp <= 0 or t_s >= start + ramp else full * (t_s - start) / ramp

    def _ego_decel(self, t_s: float, h: float = 0.0) -> float:
        """The ego's deceleration over the step from t_s: the largest of the brake request, the
        minimal-risk stop and the driver (the driver's ramp at the middle of the step)."""
        while self._brake_changes and self._brake_changes[0][0] <= t_s:
            self.aeb_active = self._brake_changes.pop(0)[1]
        while self._mrm_changes and self._mrm_changes[0][0] <= t_s:
            self.mrm_active = self._mrm_changes.pop(0)[1]
        decel = self.aeb.decel_mps2 if self.aeb_active else 0.0
        if self.mrm_active:
            decel = max(decel, self.aeb.mrm_decel_mps2)
        return max(decel, self.driver_decel(t_s + h / 2))

    def step(self, dt: float) -> None:
        h = dt / self.substeps
        if h != self._h:
            rate = self.substeps / dt
            self._t0_s, self._h, self._k = self.t_s, h, 0
            self._rate = float(round(rate)) if abs(rate - round(rate)) < 1e-6 else rate
        for _ in range(self.substeps):
            if self.collided:
                return
            t = self.t_s
            lead = self._lead()
            before = None if lead is None else (lead, lead.body.x_m, lead.body.v_mps, self.ego.x_m, self.ego.v_mps)
            decel = self._ego_decel(t, h)
            v0 = self.ego.v_mps
            accel = self._ego_advance(t, h, decel)
            if v0 > 0.0 and self.ego.v_mps == 0.0:  # came to a stop (an ego parked from t = 0 never does)
                self.stopped_t_s = t + v0 / -accel
            for target in self.targets:
                target.step(t, h)
            self._k += 1
            self.t_s = self._t0_s + self._k / self._rate
            self._check_gap(before, accel, h)
            self._remember()

    def _ego_advance(self, t_s: float, h: float, decel: float) -> float:
        """Move the ego over the step from t_s: braking at decel, or else as its [[ego.accel]]
        timeline asks (holding the speed it says to stop at). Returns the acceleration used
        (for a step that reaches that speed, the one before it)."""
        ego = self.ego
        if decel > 0:
            ego.x_m, ego.v_mps = advance(ego.x_m, ego.v_mps, -decel, h)
            return -decel
        accel, until = self.scenario.ego.accel_at(t_s)
        if until is not None and accel != 0.0:
            left = (until - ego.v_mps) / accel  # time to reach it; <= 0: reached already
            if left <= 0:
                accel = 0.0
            elif left < h:
                ego.x_m, _ = advance(ego.x_m, ego.v_mps, accel, left)
                ego.x_m += until * (h - left)
                ego.v_mps = until
                return accel
        ego.x_m, ego.v_mps = advance(ego.x_m, ego.v_mps, accel, h)
        return accel

    def yaw_rate_rps(self) -> float:
        """The ego's yaw rate (rad/s, left positive): it follows the road's curve."""
        return self.scenario.road.curvature_per_m * self.ego.v_mps

    def _check_gap(self, before, ego_accel: float, h: float) -> None:
        lead = self._lead()
        if before is not None and lead is not before[0]:
            # The lead before the step, still in the lane, now more than the overlap window behind
            # the ego: it was passed through within the step, at a speed no step size can catch
            # by looking ahead only. Its gap closed in this step like any other.
            prev = before[0]
            if abs(prev.body.lateral_m) < OVERLAP_M and prev.body.x_m - self.ego.x_m <= 0:
                lead = prev
        if lead is None:
            return
        gap = lead.body.x_m - self.ego.x_m
        self.min_gap_m = gap if self.min_gap_m is None else min(self.min_gap_m, gap)
        if gap > 0 or self.collided:
            return
        self.collided = True
        self.min_gap_m = 0.0
        if before is None or before[0] is not lead or before[1] - before[3] <= 0:
            # The lead came into the path within the step (a cut-in): met where it is now.
            self.collision_t_s = self.t_s
            self.impact_speed_mps = max(0.0, self.ego.v_mps - lead.body.v_mps)
            return
        # The gap closed within this step: find when, both bodies at their step's acceleration.
        _, lead_x, lead_v, ego_x, ego_v = before

        def gap_at(tau: float) -> float:
            return advance(lead_x, lead_v, lead.accel, tau)[0] - advance(ego_x, ego_v, ego_accel, tau)[0]

        lo, hi = 0.0, h
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if gap_at(mid) > 0 else (lo, mid)
        self.collision_t_s = self.t_s - h + hi
        ego_x_hit, ego_v_hit = advance(ego_x, ego_v, ego_accel, hi)
        self.impact_speed_mps = max(0.0, ego_v_hit - advance(lead_x, lead_v, lead.accel, hi)[1])
        self.ego.x_m, self.ego.v_mps = ego_x_hit, ego_v_hit

    def _remember(self) -> None:
        if self._latency_s <= 0:
            return
        seen = self._seen
        seen.append((self.t_s, self.ego.x_m, self.ego.v_mps,
                     [(t.body.x_m, t.body.v_mps, t.body.lateral_m) for t in self.targets]))
        # Keep the newest entry at or before now - latency, and everything after it.
        while len(seen) > 1 and seen[1][0] <= self.t_s - self._latency_s + 1e-9:
            seen.popleft()

    # -- ground truth -----------------------------------------------------------------------
    def _lead(self) -> TargetState | None:
        ahead = [t for t in self.targets if not t.spec.ghost and not t.spec.overhead
                 and abs(t.body.lateral_m) < OVERLAP_M and t.body.x_m > self.ego.x_m - 5.0]
        return min(ahead, key=lambda t: t.body.x_m) if ahead else None

    def gap_m(self) -> float | None:
        lead = self._lead()
        return None if lead is None else lead.body.x_m - self.ego.x_m

    def result(self) -> str:
        """How the drive has come out so far: 'collision'; 'stopped' (the ego at a standstill);
        'clear' (nothing in the path ahead, or what is there keeps its distance and does not
        brake); else 'undecided': the ego still closes on something in its path, so a run that
        ends now says nothing about whether it would have stopped in time."""
        if self.collided:
            return "collision"
        if self.ego.v_mps <= 0.0:
            return "stopped"
        lead = self._lead()
        if lead is None:
            return "clear"
        if self.ego.v_mps > lead.body.v_mps + 1e-9 or (lead.accel < 0.0 and lead.body.v_mps > 0.0):
            return "undecided"
        return "clear"

    def ttc_s(self) -> float | None:
        """Ground-truth TTC (gap / closing speed) to the closest in-path target; None when none closes."""
        lead = self._lead()
        if lead is None:
            return None
        closing = self.ego.v_mps - lead.body.v_mps
        if closing <= 0:
            return None
        return max(lead.body.x_m - self.ego.x_m, 0.0) / closing

    def radar(self) -> list[dict]:
        """What the radar reports now, in wire units (mm, mm/s): the targets it saw within range
        latency_ms ago (nothing before its first measurement is through)."""
        noise = self.scenario.radar
        if self._latency_s > 0:
            if self.t_s < self._latency_s - 1e-9:
                return []
            # The newest step at or before now - latency: latency rounds down to the plant's step.
            measured_s, ego_x, ego_v, bodies = self._seen[0]
        else:
            measured_s, ego_x, ego_v = self.t_s, self.ego.x_m, self.ego.v_mps
            bodies = [(t.body.x_m, t.body.v_mps, t.body.lateral_m) for t in self.targets]
        curvature = self.scenario.road.curvature_per_m
        out = []
        for t, (x_m, v_mps, lateral_m) in zip(self.targets, bodies):
            rng = x_m - ego_x
            if not (0 <= rng <= t.spec.detect_range_m and t.visible(measured_s)):
                continue
            rate = v_mps - ego_v
            if noise.range_noise_m:
                rng += self._rng.gauss(0.0, noise.range_noise_m)
            if noise.rate_noise_mps:
                rate += self._rng.gauss(0.0, noise.rate_noise_mps)
            if curvature:
                lateral_m += curvature * rng * rng / 2  # the road bends away from the radar's axis
            report = {"id": t.spec.id, "range": round(max(rng, 0.0) * 1000), "range_rate": round(rate * 1000),
                      "lateral": round(lateral_m * 1000)}
            if t.spec.height_m is not None:
                report["height"] = round(t.spec.height_m * 1000)
            out.append(report)
        return out[:64]


def _braking(v0: float, t_s: float, driver: Driver) -> tuple[float, float]:
    """Distance and speed t_s after the driver's foot lands at v0: the ramp, then full braking."""
    a, ramp = driver.brake_mps2, driver.brake_ramp_s
    if ramp <= 0:
        return advance(0.0, v0, -a, t_s)
    stop_s = (2 * ramp * v0 / a) ** 0.5  # when the ramp alone would stop the car
    tau = min(t_s, ramp, stop_s)
    x, v = v0 * tau - a * tau ** 3 / (6 * ramp), max(0.0, v0 - a * tau * tau / (2 * ramp))
    return (x, v) if t_s <= ramp or stop_s <= ramp else advance(x, v, -a, t_s - ramp)


def stopping_distance_m(v_mps: float, driver: Driver, hmi_s: float = 0.0) -> float:
    """How far the reference driver travels from an alert leaving the board to a stop (attentive)."""
    return v_mps * (hmi_s + driver.reaction_s) + _braking(v_mps, 1e9, driver)[0]


def impact_speed_mps(v_mps: float, gap_m: float, driver: Driver, hmi_s: float = 0.0) -> float:
    """The speed at which the reference driver, cued gap_m short of a standing obstacle, hits it
    (0.0 if he stops short)."""
    left = gap_m - v_mps * (hmi_s + driver.reaction_s)
    if left <= 0:
        return v_mps
    if _braking(v_mps, 1e9, driver)[0] <= left:
        return 0.0
    lo, hi = 0.0, 1e3
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _braking(v_mps, mid, driver)[0] < left else (lo, mid)
    return _braking(v_mps, hi, driver)[1]


def no_action_impact_mps(scenario: Scenario) -> float:
    """Relative impact speed (m/s) if nothing reacted: no driver, no brake request; 0.0 if no impact.

    The reference a run's impact speed is scored against (speed reduction)."""
    plant = Plant(scenario)
    dt = 1.0 / scenario.radar_hz
    while plant.t_s < scenario.duration_s and not plant.collided:
        plant.step(dt)
    return plant.impact_speed_mps


# Score bands over the relative impact-speed reduction, in Euro NCAP's five-colour scale
# (green .. red). Our banding, a design input (secondary), not the protocol's points formula:
# green = avoided; else the fraction of the no-action impact speed taken off.
SCORE_BANDS = (("yellow", 0.75), ("orange", 0.50), ("brown", 0.25), ("red", 0.0))


def score_band(collision: bool, impact_mps: float, no_action_mps: float) -> str:
    if not collision:
        return "green"
    reduction = 1.0 - impact_mps / no_action_mps if no_action_mps > 0 else 0.0
    return next(name for name, floor in SCORE_BANDS if reduction >= floor)

"""Ground truth: ego and target kinematics, the radar's view of them, the driver, the brakes.

Positions are metres along the road from the ego's front bumper at t = 0; a target's `x_m` is its
rear. The loop closes through the firmware's alerts:
- the reference driver (scenario [driver]) starts braking after the first collision alert at or
  above `reacts_to`, at `brake_mps2` (defaults from UN R157: 1.2 s, 7.6 m/s^2). Driver-monitor
  alerts ask for attention, not braking, so they never trigger it. The reaction takes `reaction_s`,
  or `reaction_distracted_s` (2.0 s, Green 2000) when the driver timeline has the eyes off the
  road or closed as the alert arrives;
- the brake request (collision EMERGENCY) is applied by the plant after the actuator delay at the
  AEB deceleration (scenario [aeb]; defaults 0.2 s, 8.3 m/s^2 = R157 reference AEB 0.85 g), and
  released the same delay after the firmware withdraws it;
- the minimal-risk request (driver-monitor EMERGENCY: unresponsive driver) is applied the same way
  at `mrm_decel_mps2` (default 3 m/s^2; R157 caps a minimal-risk manoeuvre at 4 m/s^2).
The ego's deceleration is the largest of the three. Integration is explicit Euler at `substeps` per
radar frame.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tkfw.alerts import CAUSES, CAUSE_COLLISION, LEVELS, OUT_BRAKE, OUT_MRM

from takeover.scenario import Scenario, Target

KPH = 1 / 3.6
OVERLAP_M = 1.8  # |lateral| below which a target overlaps the ego's path (1.9 m wide cars)


@dataclass
class Body:
    x_m: float
    v_mps: float
    lateral_m: float = 0.0


class TargetState:
    def __init__(self, spec: Target):
        self.spec = spec
        self.body = Body(spec.range_m, spec.speed_kph * KPH, spec.lateral_m)

    def step(self, t_s: float, dt: float) -> None:
        s, b = self.spec, self.body
        accel = s.accel_mps2
        if s.brake_at_s is not None and t_s >= s.brake_at_s:
            accel = -s.brake_mps2
        b.v_mps = max(0.0, b.v_mps + accel * dt) if accel < 0 else b.v_mps + accel * dt
        b.x_m += b.v_mps * dt
        if s.lane_change_at_s is not None and t_s >= s.lane_change_at_s:
            frac = min(1.0, (t_s - s.lane_change_at_s) / max(s.lane_change_s, 1e-9))
            b.lateral_m = s.lateral_m + (s.lane_change_to_m - s.lateral_m) * frac
        b.lateral_m += s.lateral_speed_mps * dt

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

    # -- the loop closes here ---------------------------------------------------------------
    def driver_state(self, t_s: float) -> dict:
        """What the driver frames say at t_s: the scenario's timeline, except that a reference
        driver who has started braking for a collision alert is looking at the road, hands on."""
        state = self.driver.state_at(t_s)
        if self.driver_brake_at_s is not None and t_s >= self.driver_brake_at_s:
            state = {**state, "hands_on": True, "eyes_on_road": True, "eyes_closed": False}
        return state

    def on_alert(self, t_s: float, level: str, cause: str, outputs: int) -> None:
        """An alert (level and cause names, ALERT outputs bits) reached the host at scenario time t_s."""
        driver = self.driver
        reacts_to = driver.reacts_to
        if (self.driver_brake_at_s is None and reacts_to != "never" and cause == CAUSES[CAUSE_COLLISION]
                and level in LEVELS and LEVELS.index(level) >= LEVELS.index(reacts_to)):
            state = driver.state_at(t_s)
            distracted = state["eyes_closed"] or not state["eyes_on_road"]
            self.driver_brake_at_s = t_s + (driver.reaction_distracted_s if distracted else driver.reaction_s)
            self.driver_reacted_to = level
        if self.aeb.enabled:
            effective_s = t_s + self.aeb.delay_s
            self._brake_changes.append((effective_s, bool(outputs & OUT_BRAKE)))
            self._mrm_changes.append((effective_s, bool(outputs & OUT_MRM)))

    def _ego_decel(self, t_s: float) -> float:
        while self._brake_changes and self._brake_changes[0][0] <= t_s:
            self.aeb_active = self._brake_changes.pop(0)[1]
        while self._mrm_changes and self._mrm_changes[0][0] <= t_s:
            self.mrm_active = self._mrm_changes.pop(0)[1]
        decel = self.aeb.decel_mps2 if self.aeb_active else 0.0
        if self.mrm_active:
            decel = max(decel, self.aeb.mrm_decel_mps2)
        if self.driver_brake_at_s is not None and t_s >= self.driver_brake_at_s:
            decel = max(decel, self.driver.brake_mps2)
        return decel

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
            decel = self._ego_decel(t)
            moving = self.ego.v_mps > 0.0
            self.ego.v_mps = max(0.0, self.ego.v_mps - decel * h)
            self.ego.x_m += self.ego.v_mps * h
            if moving and self.ego.v_mps == 0.0:  # came to a stop (an ego parked from t = 0 never does)
                self.stopped_t_s = t
            for target in self.targets:
                target.step(t, h)
            self._k += 1
            self.t_s = self._t0_s + self._k / self._rate
            self._check_gap()

    def _check_gap(self) -> None:
        lead = self._lead()
        if lead is None:
            return
        gap = lead.body.x_m - self.ego.x_m
        self.min_gap_m = gap if self.min_gap_m is None else min(self.min_gap_m, gap)
        if gap <= 0 and not self.collided:
            self.collided = True
            self.collision_t_s = self.t_s
            self.impact_speed_mps = max(0.0, self.ego.v_mps - lead.body.v_mps)

    # -- ground truth -----------------------------------------------------------------------
    def _lead(self) -> TargetState | None:
        ahead = [t for t in self.targets if not t.spec.ghost and abs(t.body.lateral_m) < OVERLAP_M
                 and t.body.x_m > self.ego.x_m - 5.0]
        return min(ahead, key=lambda t: t.body.x_m) if ahead else None

    def gap_m(self) -> float | None:
        lead = self._lead()
        return None if lead is None else lead.body.x_m - self.ego.x_m

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
        """What the radar reports now, in wire units (mm, mm/s): visible targets within range."""
        noise = self.scenario.radar
        out = []
        for t in self.targets:
            b = t.body
            rng = b.x_m - self.ego.x_m
            if not (0 <= rng <= t.spec.detect_range_m and t.visible(self.t_s)):
                continue
            rate = b.v_mps - self.ego.v_mps
            if noise.range_noise_m:
                rng += self._rng.gauss(0.0, noise.range_noise_m)
            if noise.rate_noise_mps:
                rate += self._rng.gauss(0.0, noise.rate_noise_mps)
            out.append({"id": t.spec.id, "range": round(max(rng, 0.0) * 1000), "range_rate": round(rate * 1000),
                        "lateral": round(b.lateral_m * 1000)})
        return out[:64]


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

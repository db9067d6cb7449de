"""Ground truth: ego and target kinematics, the radar's view of them, and the outcome.

First version (open loop): everyone keeps their speed; the run ends at impact. Positions are
metres along the road from the ego's front bumper at t = 0; a target's `range_m` is its rear.
"""

from __future__ import annotations

from dataclasses import dataclass

from takeover.scenario import Scenario

KPH = 1 / 3.6
OVERLAP_M = 1.8  # |lateral| below which a target overlaps the ego's path (1.9 m wide cars)


@dataclass
class Body:
    id: int
    x_m: float  # rear of a target / front of the ego
    v_mps: float
    lateral_m: float = 0.0
    detect_range_m: float = 0.0


class Plant:
    def __init__(self, scenario: Scenario):
        self.t_s = 0.0
        self.ego = Body(0, 0.0, scenario.ego.speed_kph * KPH)
        self.targets = [Body(t.id, t.range_m, t.speed_kph * KPH, t.lateral_m, t.detect_range_m)
                        for t in scenario.targets]
        self.collided = False
        self.impact_speed_mps = 0.0
        self.min_gap_m = self.gap_m()

    def step(self, dt: float) -> None:
        self.t_s += dt
        for body in [self.ego, *self.targets]:
            body.x_m += body.v_mps * dt
        gap = self.gap_m()
        if gap is not None:
            self.min_gap_m = gap if self.min_gap_m is None else min(self.min_gap_m, gap)
            if gap <= 0 and not self.collided:
                self.collided = True
                lead = self._lead()
                self.impact_speed_mps = self.ego.v_mps - lead.v_mps

    def _in_path(self) -> list[Body]:
        return [t for t in self.targets if abs(t.lateral_m) < OVERLAP_M and t.x_m > self.ego.x_m - 5.0]

    def _lead(self) -> Body | None:
        ahead = self._in_path()
        return min(ahead, key=lambda t: t.x_m) if ahead else None

    def gap_m(self) -> float | None:
        lead = self._lead()
        return None if lead is None else lead.x_m - self.ego.x_m

    def ttc_s(self) -> float | None:
        """Ground-truth TTC to the closest in-path target; None when nothing closes in."""
        lead = self._lead()
        if lead is None:
            return None
        closing = self.ego.v_mps - lead.v_mps
        gap = lead.x_m - self.ego.x_m
        if closing <= 0:
            return None
        return max(gap, 0.0) / closing

    def radar(self) -> list[dict]:
        """What the radar reports now, in wire units (mm, mm/s): targets within detection range."""
        out = []
        for t in self.targets:
            rng = t.x_m - self.ego.x_m
            if 0 <= rng <= t.detect_range_m:
                out.append({"id": t.id, "range": round(rng * 1000),
                            "range_rate": round((t.v_mps - self.ego.v_mps) * 1000),
                            "lateral": round(t.lateral_m * 1000)})
        return out

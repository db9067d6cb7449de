"""The scenario format's road curve, ego speed changes and target heights, and what the plant
makes of them (CPython, no board)."""

import re

import pytest

from takeover import scenario as scenarios
from takeover.errors import UsageError
from takeover.plant import Plant


def _scn(extra_top="", ego="speed_kph = 100", targets="", name="road"):
    return scenarios.parse(f"""
name = "{name}"
description = "the road, the ego, the targets"
duration_s = 20
{extra_top}
[ego]
{ego}
{targets}
""", "test")


def _run(plant, seconds):
    for _ in range(round(seconds * 20)):
        plant.step(0.05)


def test_the_ego_follows_its_acceleration_timeline_and_holds_the_speed_it_stops_at():
    scn = _scn(ego="""speed_kph = 72
[[ego.accel]]
t_s = 1.0
accel_mps2 = 2.0
until_kph = 108
[[ego.accel]]
t_s = 10.0
accel_mps2 = -1.0""")
    plant = Plant(scn)
    _run(plant, 1.0)
    assert plant.ego.v_mps == pytest.approx(20.0) and plant.ego.x_m == pytest.approx(20.0)
    _run(plant, 2.0)  # 3.0 s: 2 s at 2 m/s^2
    assert plant.ego.v_mps == pytest.approx(24.0)
    assert plant.ego.x_m == pytest.approx(20.0 + 20.0 * 2 + 2.0 * 4 / 2)
    _run(plant, 5.0)  # 8.0 s: 30 m/s reached at 6.0 s and held
    assert plant.ego.v_mps == pytest.approx(30.0)
    assert plant.ego.x_m == pytest.approx(20.0 + (20.0 * 5 + 2.0 * 25 / 2) + 30.0 * 2)
    _run(plant, 4.0)  # 12.0 s: slowing at 1 m/s^2 from 10.0 s
    assert plant.ego.v_mps == pytest.approx(28.0)


def test_braking_overrides_the_timeline():
    scn = _scn(ego="""speed_kph = 72
[[ego.accel]]
t_s = 0.0
accel_mps2 = 2.0""")
    plant = Plant(scn)
    plant.on_alert(0.0, "EMERGENCY", "collision", 8)  # a brake request, after the 0.2 s actuator delay
    _run(plant, 1.2)
    assert plant.ego.v_mps == pytest.approx(20.0 + 2.0 * 0.2 - scn.aeb.decel_mps2 * 1.0)


def test_on_a_curve_the_radar_sees_a_target_in_our_lane_bent_away_and_the_ego_turns():
    scn = _scn(extra_top="[road]\ncurvature_per_m = -0.002", targets="""
[[target]]
id = 1
range_m = 100.0
speed_kph = 100
lateral_m = 0.0
[[target]]
id = 2
range_m = 50.0
speed_kph = 100
lateral_m = 3.5
height_m = 0.6""")
    scn.radar.latency_ms = 0
    plant = Plant(scn)
    _run(plant, 1.0)
    reports = {r["id"]: r for r in plant.radar()}
    assert reports[1]["lateral"] == round(-0.002 * 100.0 ** 2 / 2 * 1000)  # 10 m to the right
    assert reports[2]["lateral"] == round((3.5 - 0.002 * 50.0 ** 2 / 2) * 1000)  # 1.0 m: dead ahead
    assert "height" not in reports[1] and reports[2]["height"] == 600
    assert plant.yaw_rate_rps() == pytest.approx(-0.002 * 100 / 3.6)
    assert plant.gap_m() == pytest.approx(100.0)  # ground truth: along the road, in our lane


def test_a_structure_above_the_road_is_reported_and_driven_under():
    scn = _scn(targets="""
[[target]]
id = 3
range_m = 30.0
height_m = 5.5
overhead = true""")
    plant = Plant(scn)
    _run(plant, 0.5)
    assert plant.radar()[0]["height"] == 5500
    _run(plant, 3.0)  # 97 m at 100 km/h: well past it
    assert not plant.collided and plant.gap_m() is None
    assert scn.uses_path_or_height()
    assert not scenarios.load("su7-construction-zone").uses_path_or_height()


@pytest.mark.parametrize("text, message", [
    ("[road]\ncurvature_per_m = 0.05", "curvature_per_m must be within"),
    ("[road]\nradius_m = 500", "unknown key 'radius_m' in [road]"),
])
def test_a_road_the_plant_cannot_take_is_refused(text, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        _scn(extra_top=text)


@pytest.mark.parametrize("ego, message", [
    ("speed_kph = 50\n[ego.accel]\nt_s = 1.0\naccel_mps2 = 1.0", "write [[ego.accel]]"),
    ("speed_kph = 50\n[[ego.accel]]\nt_s = 1.0", "missing required key 'accel_mps2'"),
    ("speed_kph = 50\n[[ego.accel]]\nt_s = 1.0\naccel_mps2 = 12.0", "accel_mps2 must be within"),
    ("speed_kph = 50\n[[ego.accel]]\nt_s = 2.0\naccel_mps2 = 1.0\n[[ego.accel]]\nt_s = 1.0\naccel_mps2 = 1.0",
     "must be >= 0 and after the entry before it"),
    ("speed_kph = 50\n[[ego.accel]]\nt_s = 1.0\naccel_mps2 = 1.0\nuntil_kmh = 90", "did you mean 'until_kph'"),
])
def test_an_ego_timeline_with_a_mistake_is_refused_with_one_line(ego, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        _scn(ego=ego)


@pytest.mark.parametrize("target, message", [
    ("overhead = true", "is overhead but has no height_m"),
    ("height_m = 45.0", "height_m must be within"),
])
def test_a_target_height_with_a_mistake_is_refused(target, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        _scn(targets=f"[[target]]\nid = 1\nrange_m = 50.0\n{target}")


def test_every_builtin_that_needs_revision_2_says_so():
    needs = {n for n in scenarios.builtin_names() if scenarios.load(n).uses_path_or_height()}
    assert {"nuisance-overhead-gantry", "barrier-under-bridge", "nuisance-curve-adjacent-lane",
            "curve-stopped-car"} <= needs


def test_the_firmware_says_in_its_hello_that_it_takes_revision_2():
    """What the host reads to decide whether to send a yaw rate and heights: the HELLO's features
    (a reserved 0 before the revision, so an older firmware reads as one without it)."""
    from takeover.device import Hello
    from tkfw import schema

    from fake_io import ByteIO
    from tkfw.app import Firmware

    io = ByteIO(b"")
    Firmware(io, "sim").send_hello()
    (msg,) = io.out
    hello = Hello.of(msg.fields)
    assert msg.name == "hello" and hello.features & schema.FEATURE_PATH_HEIGHT and hello.path_and_height
    assert not Hello.of({**msg.fields, "features": 0}).path_and_height


@pytest.mark.parametrize("radius_m", [-2000.0, -500.0, -50.0, 50.0, 300.0, 1500.0, 30000.0])
def test_the_predicted_paths_offset_is_x_squared_over_2r_within_50_mm_in_small_ints(radius_m):
    """tkfw.ttc.path_offset_mm, the arithmetic decide() and track() inline: x^2 / 2R within 50 mm
    up to 300 m (beyond, 300 m), no product past 2**30 (a big int would allocate on the board)."""
    from tkfw.ttc import path_offset_mm

    radius_mm = round(radius_m * 1000)
    for x_m in (0.0, 0.5, 10.0, 42.3, 100.0, 150.0, 250.0, 299.9, 300.0, 400.0):
        got = path_offset_mm(round(x_m * 1000), radius_mm)
        x = min(x_m, 300.0)
        assert abs(got / 1000 - x * x / (2 * radius_m)) <= 0.05 + 1e-9, (x_m, got)
        assert (min(round(x_m * 1000) // 10, 30000)) ** 2 < 2**30

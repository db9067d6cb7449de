"""Scenario files are a public interface: strict, with errors that say what is wrong."""

import re
from pathlib import Path

import pytest

from takeover import scenario as scenarios
from takeover.errors import UsageError

MINIMAL = """
name = "x"
description = "y"
duration_s = 5
[ego]
speed_kph = 50
[[target]]
id = 1
range_m = 40
"""


def test_every_builtin_scenario_loads_and_has_an_expectation():
    names = scenarios.builtin_names()
    assert "su7-construction-zone" in names
    for name in names:
        scn = scenarios.load(name)
        assert scn.name == name, "file name and name key must agree"
        assert any(v is not None for v in vars(scn.expect).values()), name
        assert len(scn.reference) > 10, f"{name}: say what it reproduces (reference = ...)"


def test_defaults_fill_optional_keys():
    scn = scenarios.parse(MINIMAL, "t.toml")
    assert scn.radar_hz == 20.0
    assert scn.duration_s == 5.0 and isinstance(scn.duration_s, float)
    assert scn.targets[0].lateral_m == 0.0 and scn.targets[0].detect_range_m == 150.0
    driver = scn.driver
    assert driver.engaged is True and driver.driver_hz == 10.0 and driver.reaction_distracted_s == 2.0
    assert driver.state == []
    assert scn.aeb.mrm_decel_mps2 == 3.0
    assert scn.expect.level_by is None and scn.expect.level_not_before is None, "docgen prints only what is set"


DRIVER_MONITOR = MINIMAL + """
[driver]
engaged = false
driver_hz = 25
reaction_distracted_s = 2.5
[[driver.state]]
t_s = 1
eyes_on_road = false
[[driver.state]]
t_s = 2.5
eyes_closed = true
engaged = true
[aeb]
mrm_decel_mps2 = 4
[expect.level_by]
WARNING = 6.5
[expect.level_not_before]
TAKEOVER = 3
"""


def test_driver_monitor_keys_are_read_with_their_units():
    scn = scenarios.parse(DRIVER_MONITOR, "t.toml")
    driver = scn.driver
    assert driver.engaged is False and driver.driver_hz == 25.0 and driver.reaction_distracted_s == 2.5
    assert driver.state == [{"t_s": 1.0, "eyes_on_road": False},
                            {"t_s": 2.5, "eyes_closed": True, "engaged": True}]
    assert all(isinstance(entry["t_s"], float) for entry in driver.state)
    assert scn.aeb.mrm_decel_mps2 == scenarios.MRM_DECEL_MAX_MPS2, "the R157 cap itself is allowed"
    assert scn.expect.level_by == {"WARNING": 6.5}
    assert scn.expect.level_not_before == {"TAKEOVER": 3.0}
    assert isinstance(scn.expect.level_not_before["TAKEOVER"], float)


STATE = "[driver]\n[[driver.state]]\n"


@pytest.mark.parametrize("text, words", [
    (MINIMAL + "[expect]\nmax_levle = 'NONE'\n", ["max_levle", "[expect]", "max_level"]),
    (MINIMAL.replace("speed_kph = 50", "speed = 50"), ["speed", "[ego]"]),
    (MINIMAL + "[expect]\nmax_level = 'WARN'\n", ["WARN", "not a level"]),
    (MINIMAL.replace("duration_s = 5", "duration_s = 'five'"), ["duration_s", "float"]),
    (MINIMAL.replace("id = 1", "id = 1.5"), ["id", "int"]),
    (MINIMAL.replace('name = "x"', ""), ["missing", "name"]),
    ("name = [", ["not valid TOML"]),
    (MINIMAL + "[[target]]\nid = 1\nrange_m = 9\n", ["unique"]),
    (MINIMAL + "[driver]\nenaged = false\n", ["enaged", "[driver]", "did you mean 'engaged'"]),
    (MINIMAL + "[driver]\ndriver_hz = 0.5\n", ["driver_hz", "1..100", "0.5"]),
    (MINIMAL + "[driver]\ndriver_hz = 101\n", ["driver_hz", "1..100", "101"]),
    (MINIMAL + "[driver]\nreaction_distracted_s = -1\n", ["reaction_distracted_s", "0..10 s", "-1"]),
    (MINIMAL + "[driver]\nengaged = 1\n", ["engaged", "bool"]),
    (MINIMAL + STATE + "t_s = 1\neyes_of_road = false\n",
     ["eyes_of_road", "[[driver.state]] 1", "did you mean 'eyes_on_road'"]),
    (MINIMAL + STATE + "eyes_on_road = false\n", ["missing", "t_s", "[[driver.state]] 1"]),
    (MINIMAL + STATE + "t_s = -0.5\n", ["[[driver.state]] 1", "t_s", ">= 0"]),
    (MINIMAL + STATE + "t_s = 1\neyes_closed = 'yes'\n", ["eyes_closed", "bool"]),
    (MINIMAL + STATE + "t_s = 2\n[[driver.state]]\nt_s = 2\n", ["[[driver.state]] 2", "increasing"]),
    (MINIMAL + STATE + "t_s = 3\n[[driver.state]]\nt_s = 1\n", ["[[driver.state]] 2", "t_s = 1.0", "increasing"]),
    (MINIMAL + "[driver.state]\nt_s = 1\n", ["[[driver.state]]"]),
    (MINIMAL + "[aeb]\nmrm_decel_mps2 = 4.5\n", ["mrm_decel_mps2", "R157", "4.5"]),
    (MINIMAL + "[aeb]\nmrm_decel_mps2 = 0\n", ["mrm_decel_mps2", "R157"]),
    (MINIMAL + "[expect.level_by]\nWARN = 6\n", ["[expect.level_by]", "'WARN'", "not a level"]),
    (MINIMAL + "[expect.level_by]\nNONE = 6\n", ["[expect.level_by]", "'NONE'", "not a level"]),
    (MINIMAL + "[expect.level_by]\nWARNING = -1\n", ["[expect.level_by]", "WARNING", ">= 0"]),
    (MINIMAL + "[expect.level_by]\nWARNING = 'soon'\n", ["WARNING", "seconds", "'soon'"]),
    (MINIMAL + "[expect.level_by]\nWARNING = true\n", ["WARNING", "seconds", "True"]),
    (MINIMAL + "[expect.level_not_before]\nTAKEOVR = 3\n", ["[expect.level_not_before]", "'TAKEOVR'"]),
    (MINIMAL + "[expect]\nlevel_by = 6\n", ["level_by", "[expect]", "must be a table"]),
    (MINIMAL + "[expect]\nlevel_bye = {}\n", ["level_bye", "did you mean 'level_by'"]),
])
def test_a_mistake_in_a_scenario_file_is_named(text, words):
    with pytest.raises(UsageError) as err:
        scenarios.parse(text, "t.toml")
    message = str(err.value)
    assert message.startswith("t.toml: ")
    for word in words:
        assert word in message


@pytest.mark.parametrize("text, words", [
    (MINIMAL.replace("speed_kph = 50", "speed_kph = -90"), ["[ego] speed_kph", "0..250 km/h", "-90"]),
    (MINIMAL.replace("speed_kph = 50", "speed_kph = 9000"), ["[ego] speed_kph", "0..250 km/h", "9000"]),
    (MINIMAL.replace("speed_kph = 50", "speed_kph = nan"), ["[ego] speed_kph", "nan"]),
    (MINIMAL + "detect_range_m = -80\n", ["[[target]] 1 detect_range_m", "1..1000 m", "-80"]),
    (MINIMAL.replace("range_m = 40", "range_m = -5"), ["[[target]] 1 range_m", "> 0 m", "ego's lane", "-5"]),
    (MINIMAL.replace("range_m = 40", "range_m = 1e6"), ["[[target]] 1 range_m", "-500..2000 m"]),
    (MINIMAL + "speed_kph = 400\n", ["[[target]] 1 speed_kph", "-250..250 km/h"]),
    (MINIMAL + "vanish_s = 0\n", ["vanish_s", "after appear_s"]),
    (MINIMAL + "[driver]\nbrake_mps2 = 30\n", ["[driver] brake_mps2", "0.5..12 m/s^2", "30"]),
    (MINIMAL + "[aeb]\ndelay_s = -0.1\n", ["[aeb] delay_s", "0..2 s"]),
    (MINIMAL + "[radar]\nrate_noise_mps = -1\n", ["[radar] rate_noise_mps", "0..10 m/s"]),
    (MINIMAL.replace("duration_s = 5", "duration_s = 0"), ["duration_s", "0.1..3600 s"]),
])
def test_a_value_outside_its_physical_range_is_refused_with_the_range_and_unit(text, words):
    with pytest.raises(UsageError) as err:
        scenarios.parse(text, "t.toml")
    message = str(err.value)
    assert message.startswith("t.toml: ") and "\n" not in message
    for word in words:
        assert word in message


def test_a_car_beside_or_behind_may_start_at_a_negative_range():
    scn = scenarios.parse(MINIMAL.replace("range_m = 40", "range_m = -20\nlateral_m = 3.5"), "t.toml")
    assert scn.targets[0].range_m == -20


def test_unknown_scenario_name_suggests_the_close_one():
    with pytest.raises(UsageError, match="did you mean 'su7-construction-zone'"):
        scenarios.load("su7-construction")


def test_the_annotated_example_in_the_docs_is_a_valid_scenario():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()
    example = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    scn = scenarios.parse(example, "docs/scenarios.md")
    assert scn.driver.state and scn.expect.level_by and scn.expect.level_not_before

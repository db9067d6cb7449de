"""Scenario files are a public interface: strict, with errors that say what is wrong."""

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


def test_defaults_fill_optional_keys():
    scn = scenarios.parse(MINIMAL, "t.toml")
    assert scn.radar_hz == 20.0
    assert scn.duration_s == 5.0 and isinstance(scn.duration_s, float)
    assert scn.targets[0].lateral_m == 0.0 and scn.targets[0].detect_range_m == 150.0


@pytest.mark.parametrize("text, words", [
    (MINIMAL + "[expect]\nmax_levle = 'NONE'\n", ["max_levle", "[expect]", "max_level"]),
    (MINIMAL.replace("speed_kph = 50", "speed = 50"), ["speed", "[ego]"]),
    (MINIMAL + "[expect]\nmax_level = 'WARN'\n", ["WARN", "not a level"]),
    (MINIMAL.replace("duration_s = 5", "duration_s = 'five'"), ["duration_s", "float"]),
    (MINIMAL.replace("id = 1", "id = 1.5"), ["id", "int"]),
    (MINIMAL.replace('name = "x"', ""), ["missing", "name"]),
    ("name = [", ["not valid TOML"]),
    (MINIMAL + "[[target]]\nid = 1\nrange_m = 9\n", ["unique"]),
])
def test_a_mistake_in_a_scenario_file_is_named(text, words):
    with pytest.raises(UsageError) as err:
        scenarios.parse(text, "t.toml")
    message = str(err.value)
    assert message.startswith("t.toml: ")
    for word in words:
        assert word in message


def test_unknown_scenario_name_suggests_the_close_one():
    with pytest.raises(UsageError, match="did you mean 'su7-construction-zone'"):
        scenarios.load("su7-construction")

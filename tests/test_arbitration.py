"""A collision cue is never hidden by a driver-monitor alert, for every pair of levels.

Both in force: the winner (priority) keeps its level and cause; the outputs shown combine both
cues (the collision's LED pattern; tone, haptic and brake from the collision where it drives them,
else from the driver monitor); the other side is named in level2 / cause2.
"""

import pytest

from tkfw import alerts
from tkfw.alerts import (BRAKE, CAUSE_COLLISION, CAUSE_LEVELS, DM_CAUSES, HAPTIC_OFF_MS, HAPTIC_ON_MS, LED,
                         LED_OFF_MS, LED_ON_MS, PRIORITY, TONE_HZ, TONE_OFF_MS, TONE_ON_MS, Arbiter, outputs_of,
                         row_for)

PAIRS = [(col, cause, level) for col in CAUSE_LEVELS[CAUSE_COLLISION]
         for cause in DM_CAUSES for level in CAUSE_LEVELS[cause]]


def _fields(row, columns):
    return tuple(row[c] for c in columns)


@pytest.mark.parametrize("col_level, dm_cause, dm_level", PAIRS)
def test_both_in_force_the_outputs_carry_the_collision_cue_and_the_alert_names_both(col_level, dm_cause, dm_level):
    col, dm = row_for(col_level, CAUSE_COLLISION), row_for(dm_level, dm_cause)
    arbiter = Arbiter()
    arbiter.request(dm_cause, dm_level, 0)
    arbiter.request(CAUSE_COLLISION, col_level, 100)
    assert arbiter.decide()
    winner = col if col[PRIORITY] > dm[PRIORITY] else dm
    other = dm if winner is col else col
    assert (arbiter.level, arbiter.cause) == (winner[alerts.LEVEL], winner[alerts.CAUSE])
    assert (arbiter.level2, arbiter.cause2) == (other[alerts.LEVEL], other[alerts.CAUSE])
    shown = arbiter.row
    assert _fields(shown, (LED, LED_ON_MS, LED_OFF_MS)) == _fields(col, (LED, LED_ON_MS, LED_OFF_MS))
    tone = col if col[TONE_HZ] else dm
    assert _fields(shown, (TONE_HZ, TONE_ON_MS, TONE_OFF_MS)) == _fields(tone, (TONE_HZ, TONE_ON_MS, TONE_OFF_MS))
    haptic = col if col[HAPTIC_ON_MS] else dm
    assert _fields(shown, (HAPTIC_ON_MS, HAPTIC_OFF_MS)) == _fields(haptic, (HAPTIC_ON_MS, HAPTIC_OFF_MS))
    assert shown[BRAKE] == (col[BRAKE] or dm[BRAKE])
    # never hidden: every output the collision row drives is driven
    assert arbiter.outputs == outputs_of(shown)
    assert arbiter.outputs & outputs_of(col) == outputs_of(col)


def test_alone_each_cause_shows_its_own_row_and_names_no_other():
    for cause in (CAUSE_COLLISION,) + DM_CAUSES:
        for level in CAUSE_LEVELS[cause]:
            arbiter = Arbiter()
            arbiter.request(cause, level, 0)
            assert arbiter.decide()
            assert arbiter.row is row_for(level, cause)
            assert (arbiter.level2, arbiter.cause2) == (alerts.NONE, alerts.CAUSE_NONE)


def test_the_collision_level_changing_under_a_driver_monitor_winner_changes_what_is_shown():
    arbiter = Arbiter()
    arbiter.request(alerts.CAUSE_EYES_OFF, alerts.TAKEOVER, 0)
    arbiter.decide()
    before = arbiter.row
    arbiter.request(CAUSE_COLLISION, alerts.WARNING, 50)
    assert arbiter.decide()  # the winner is the same, the outputs are not
    assert arbiter.cause == alerts.CAUSE_EYES_OFF and arbiter.row is not before
    assert arbiter.row[LED_ON_MS] == row_for(alerts.WARNING, CAUSE_COLLISION)[LED_ON_MS]

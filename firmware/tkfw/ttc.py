"""Time-to-collision over one radar frame, in integer units (mm, mm/s, ms).

First version: the closest in-path target (|lateral| <= lane half width) that is closing faster
than closing_min; TTC = range / closing speed. Targets are read straight from the decoder's int32
view of the frame (tkfw.schema TARGET_FIELDS: id, range mm, range_rate mm/s, lateral mm), so
nothing is allocated per frame: every value stays a small int (ranges below 1073 km).
"""

from tkfw import alerts
from tkfw.compat import const

NO_TTC = const(-1)
_TTC_CAP_MS = const(60000)  # beyond a minute a TTC means nothing; also keeps products small


class Threat:
    """Result of the last assessment; attributes are ints so updating them never allocates."""

    def __init__(self):
        self.target_id = -1
        self.range_mm = 0
        self.closing_mm_s = 0
        self.ttc_ms = NO_TTC

    def assess(self, words, first_word, count, settings):
        """Pick the closest in-path closing target among `count` records starting at words[first_word]."""
        half_width = settings.lane_half_width_mm
        closing_min = settings.closing_min_mm_s
        best_range = -1
        best_id = -1
        best_closing = 0
        w = first_word
        for _ in range(count):
            lateral = words[w + 3]
            if -half_width <= lateral <= half_width:
                closing = -words[w + 2]
                rng = words[w + 1]
                if rng < 0:  # already overlapping: as close as it gets
                    rng = 0
                if closing >= closing_min and (best_range < 0 or rng < best_range):
                    best_range = rng
                    best_id = words[w]
                    best_closing = closing
            w += 4
        self.target_id = best_id
        self.range_mm = best_range
        self.closing_mm_s = best_closing
        if best_range < 0:
            self.ttc_ms = NO_TTC
        elif best_range >= best_closing * (_TTC_CAP_MS // 1000):
            self.ttc_ms = _TTC_CAP_MS
        else:
            # range * 1000 // closing, split so no product leaves the small-int range (a range
            # above ~1 km times 1000 would exceed 2**30 and allocate on the board).
            self.ttc_ms = ((best_range // best_closing) * 1000
                           + (best_range % best_closing) * 1000 // best_closing)
        return self.ttc_ms


def level_for(ttc_ms, settings):
    """The collision alert level a TTC calls for (thresholds from the settings object)."""
    if ttc_ms < 0:
        return alerts.NONE
    if ttc_ms <= settings.ttc_emergency_ms:
        return alerts.EMERGENCY
    if ttc_ms <= settings.ttc_takeover_ms:
        return alerts.TAKEOVER
    if ttc_ms <= settings.ttc_warning_ms:
        return alerts.WARNING
    if ttc_ms <= settings.ttc_notice_ms:
        return alerts.NOTICE
    return alerts.NONE

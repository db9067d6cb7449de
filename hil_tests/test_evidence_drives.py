"""`takeover evidence` on a board: a few drives of each kind, every one accounted for."""

from takeover import evidence as ev


def test_a_few_evidence_drives_of_each_kind_are_all_run_judged_and_accounted_for(device):
    # Critical seeds 6-8 include a brake request released after the car stopped, so the replayed
    # ground truth is checked against the run's own trace there.
    plan = ev.plan(2, 3, 6)
    results = [ev.run_drive(device, ev.make_drive(kind, seed)) for kind, seed in plan]
    assert [(r.kind, r.seed) for r in results] == plan
    for r in results:
        assert set(r.outcome) >= {"collision", "impact_speed_kph", "min_gap_m"}, r.name
        f = r.frames
        assert f["sent"] == f["processed"] + f["dropped"] + f["rejected"] and f["rejected"] == 0, (r.name, f)
        assert r.truth_source == "replay", r.name  # the replayed plant agrees with the runner's
        if r.kind == "critical":
            assert r.onset_s is not None and r.unavoidable == (r.deadline_s is None), r.name
            assert (r.late is None) == r.unavoidable, r.name  # judged on its warning unless unavoidable
            assert r.first_collision_warning_s is not None, r.name  # every threat was warned about
    assert any(r.releases for r in results)  # the replay was exercised
    fig = ev.figures(results)
    assert (fig["benign"]["drives"], fig["critical"]["drives"]) == (2, 3)
    assert fig["critical"]["judged"] + fig["critical"]["unavoidable"] == 3
    assert [v["key"] for v in ev.verdicts(results)] == [key for key, _ in ev.TARGETS]


def test_leads_that_brake_at_a_short_headway_are_warned_on_time(device):
    # Critical 112 (78 km/h speeding up, a lead 1.3 s ahead braking at 5.1 m/s^2) and 268
    # (105 km/h, a lead 0.9 s ahead braking at 3.6 m/s^2, the driver looking away): a fast
    # deceleration estimate that lagged (the mean of the low-passed and the raw one) warned both
    # one frame after the deadline; the closing speed's change over two frames is in time.
    for seed in (112, 268):
        r = ev.run_drive(device, ev.make_drive("critical", seed))
        assert not r.unavoidable and r.deadline_s is not None, r.name
        assert r.late is False, (r.name, r.first_collision_warning_s, r.deadline_s)

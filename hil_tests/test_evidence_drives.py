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

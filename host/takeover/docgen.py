"""Regenerate the parts of docs/ that restate code, so they cannot drift.

    python -m takeover.docgen             # rewrite the generated sections in place
    python -m takeover.docgen --check     # exit 1 if any is stale (the test suite runs this)
    python -m takeover.docgen --outcomes  # run every built-in scenario on a simulated board
                                          # (lockstep) and rewrite docs/outcomes.md

A generated section sits between `<!-- generated: NAME -->` and `<!-- end: NAME -->`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tkfw import alerts, schema, settings

from takeover import scenario as scenarios

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _fields_table(fields, start) -> list[str]:
    offsets, _ = schema.layout(fields, start)
    rows = ["| offset | field | type | unit / meaning |", "|---|---|---|---|"]
    for name, code, unit in fields:
        rows.append(f"| {offsets[name][0]} | `{name}` | `{code}` | {unit} |")
    return rows


def protocol_messages() -> str:
    out = [f"Protocol version **{schema.VERSION}**. Offsets are from the payload start; the payload "
           f"header (`ver` u8, `type` u8, `seq` u16) takes offsets 0-3.", ""]
    for msg_type, (name, fields) in schema.MESSAGES.items():
        direction = "host -> device" if msg_type < 0x80 else "device -> host"
        out += [f"### `{name}` (type 0x{msg_type:02x}, {direction})", ""]
        out += _fields_table(fields, schema.PAYLOAD_HEADER_LEN) if fields else ["(no body)"]
        out.append("")
    out += [f"### radar target record ({schema.TARGET_LEN} bytes, repeated `n_targets` times from payload "
            f"offset {schema.RADAR_TARGETS_AT}, at most {schema.MAX_TARGETS})", ""]
    out += _fields_table(schema.TARGET_FIELDS, 0)
    out += ["", f"### radar heights block ({schema.HEIGHT_LEN} bytes a target, after the records when the radar "
                f"`flags` have bit0 `RADAR_HEIGHTS`, in the records' order; revision 2)", ""]
    out += _fields_table(schema.HEIGHT_FIELDS, 0)
    out += ["", f"`HEIGHT_UNKNOWN` = {schema.HEIGHT_UNKNOWN}. Largest frame: {schema.MAX_FRAME} bytes "
                f"(a 64-target radar frame with its heights)."]
    return "\n".join(out)


def settings_table() -> str:
    rows = ["| # | setting | default | allowed | device value | why |", "|---|---|---|---|---|---|"]
    for key, (name, default, unit, lo, hi, safety, why) in enumerate(settings.SPEC):
        floor = " (**safety floor**)" if safety == settings.FLOOR else ""
        ceiling = " (**safety ceiling**)" if safety == settings.CEILING else ""
        rows.append(f"| {key} | `{name}` | {default:g} {unit} | {lo:g}{floor} .. {hi:g}{ceiling} | "
                    f"`{settings.device_name(name)}` | {why} |")
    return "\n".join(rows)


def alert_table() -> str:
    rows = ["| level | cause | priority | outputs | LED | tone | haptic | brake |", "|---|---|---|---|---|---|---|---|"]
    led = {0: "off", 1: "amber", 2: "red"}
    for row in alerts.TABLE:
        bits = alerts.outputs_of(row)
        names = [n for bit, n in ((1, "visual"), (2, "audible"), (4, "haptic"), (8, "brake")) if bits & bit]
        blink = f" {row[alerts.LED_ON_MS]}/{row[alerts.LED_OFF_MS]} ms" if row[alerts.LED_ON_MS] else ""
        tone = f"{row[alerts.TONE_HZ]} Hz" if row[alerts.TONE_HZ] else "-"
        if row[alerts.TONE_HZ] and row[alerts.TONE_OFF_MS]:
            tone += f" {row[alerts.TONE_ON_MS]}/{row[alerts.TONE_OFF_MS]} ms"
        haptic = "-"
        if row[alerts.HAPTIC_ON_MS]:
            haptic = f"{row[alerts.HAPTIC_ON_MS]}/{row[alerts.HAPTIC_OFF_MS]} ms" if row[alerts.HAPTIC_OFF_MS] else "continuous"
        rows.append(f"| {alerts.LEVELS[row[alerts.LEVEL]]} | {alerts.CAUSES[row[alerts.CAUSE]]} | "
                    f"{row[alerts.PRIORITY]} | {', '.join(names) or '-'} | {led[row[alerts.LED]]}{blink} | "
                    f"{tone} | {haptic} | {'yes' if row[alerts.BRAKE] else '-'} |")
    return "\n".join(rows)


def builtin_scenarios() -> str:
    rows = ["| scenario | what it shows | source | ego | expectations |", "|---|---|---|---|---|"]
    for name in scenarios.builtin_names():
        scn = scenarios.load(name)
        exp = ", ".join(f"{k} = {v}" for k, v in vars(scn.expect).items() if v is not None)
        rows.append(f"| `{name}` | {scn.description} | {scn.reference} | {scn.ego.speed_kph:g} km/h | {exp} |")
    return "\n".join(rows)


def physical_ranges() -> str:
    """Every range the scenario loader enforces (takeover.scenario.RANGES)."""
    tables = {"top": "top level", "ego": "[ego]", "road": "[road]", "target": "[[target]]", "driver": "[driver]",
              "aeb": "[aeb]", "radar": "[radar]", "hmi": "[hmi]"}
    rows = ["| table | key | allowed |", "|---|---|---|"]
    for table, keys in scenarios.RANGES.items():
        for key, (lo, hi, unit) in keys.items():
            rows.append(f"| {tables[table]} | `{key}` | {lo:g} .. {hi:g} {unit} |")
    return "\n".join(rows)


def dm_timeline() -> str:
    """When each driver-monitor alert comes for a driver who never responds, from the settings."""
    st = settings.Settings()

    def ladder(request_s, escalate_s):
        warn = request_s + escalate_s
        return [("NOTICE", request_s), ("WARNING", warn), ("TAKEOVER", warn + st.dm_takeover_s),
                ("EMERGENCY + minimal-risk request", warn + st.dm_mrm_s)]

    stories = [
        ("hands off, eyes on the road (assistance engaged)",
         ladder(st.hands_off_request_s + st.hands_off_eyes_on_extra_s, st.hands_off_escalate_s)),
        ("hands off, eyes off the road", ladder(st.hands_off_request_s, st.hands_off_escalate_s)),
        ("eyes off the road (hands on)", ladder(st.eyes_off_request_s, st.eyes_off_escalate_s)),
        ("eyes closed", [("WARNING (microsleep)", st.microsleep_s), ("TAKEOVER (sleep)", st.sleep_s),
                         ("EMERGENCY + minimal-risk request (unresponsive)", st.unresponsive_closed_s)]),
        (f"glances away adding up to {st.vats_limit_s:g} s within {st.vats_window_s:g} s (VATS)",
         [("WARNING", st.vats_limit_s)]),
    ]
    rows = ["| the driver ... | alert | after (s, from the start of the condition) |", "|---|---|---|"]
    for what, steps in stories:
        for k, (level, t) in enumerate(steps):
            rows.append(f"| {what if k == 0 else ''} | {level} | {t:g} |")
    return "\n".join(rows)


SECTIONS = {
    "protocol.md": {"messages": protocol_messages, "settings": settings_table, "alerts": alert_table},
    "scenarios.md": {"builtins": builtin_scenarios, "ranges": physical_ranges},
    "driver-monitor.md": {"timeline": dm_timeline, "alerts": alert_table},
}


def render(text: str, makers: dict) -> str:
    for name, make in makers.items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"docgen: section '{name}' markers missing")
        text = pattern.sub(lambda m: m.group(1) + make() + "\n" + m.group(2), text)
    return text


def outcomes() -> str:
    """Every built-in scenario run on a fresh simulated board, one table row each."""
    from takeover.device import Device
    from takeover.runner import Pace, run_scenario

    rows = ["| scenario | verdict | highest alert | first collision WARNING+ at true TTC | collision | impact speed | "
            "closest gap | impact without any reaction | score band (driver absent) |",
            "|---|---|---|---|---|---|---|---|---|"]
    with Device("sim") as dev:
        for name in scenarios.builtin_names():
            run = run_scenario(dev, scenarios.load(name), Pace(lockstep=True))
            first = next((a for a in run.alerts if a["level"] in alerts.LEVELS and a["cause"] == "collision"
                          and alerts.LEVELS.index(a["level"]) >= alerts.WARNING), None)
            o = run.outcome
            warn = "-" if first is None or first["ttc_s"] is None else f"{first['ttc_s']:.2f} s"
            verdict = "pass" if run.passed else "FAIL: " + "; ".join(run.failures)
            gap = "-" if o["min_gap_m"] is None else f"{o['min_gap_m']:.1f} m"
            rows.append(f"| `{name}` | {verdict} | {run.max_level} | {warn} | {'yes' if o['collision'] else 'no'} | "
                        f"{o['impact_speed_kph']:.1f} km/h | {gap} | {o['no_action_impact_kph']:.1f} km/h | "
                        f"{o['score_band'] or '-'} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if "--outcomes" in argv:
        path = DOCS / "outcomes.md"
        path.write_text(render(path.read_text(), {"outcomes": outcomes}))
        return 0
    stale = []
    for doc, makers in SECTIONS.items():
        path = DOCS / doc
        old = path.read_text()
        new = render(old, makers)
        if new != old:
            stale.append(doc)
            if "--check" not in argv:
                path.write_text(new)
    if stale and "--check" in argv:
        print(f"docs out of date: {', '.join(stale)}: run `python -m takeover.docgen`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The link itself: handshake, accounting, resynchronisation, outputs, the sim command."""

import json
import subprocess
import sys
import time

import pytest
import serial

import tkfw
from tkfw import alerts, schema
from tkfw.settings import Settings

from takeover import codec, ports
from takeover.runner import DRIVER_ATTENTIVE


def test_handshake_reports_matching_versions_and_settings(device):
    hello = device.start_session()
    assert hello.proto == schema.VERSION
    assert hello.fw_version == tkfw.VERSION
    assert hello.settings_hash == Settings().digest()
    assert hello.max_targets == schema.MAX_TARGETS
    assert hello.mismatches() == []


@pytest.mark.parametrize("tail", [0, 1, 700, schema.MAX_PAYLOAD - schema.PAYLOAD_HEADER_LEN])
def test_an_echo_frame_comes_back_byte_for_byte(device, tail):
    device.start_session()
    body = bytes((7 * k + 3) & 0xFF for k in range(tail))
    seq, _ = device.send("echo", tail=body)
    echo = device.wait_for("echo", 2.0, match=lambda m: m.seq == seq)
    assert echo is not None and echo["raw"] == body
    assert device.status()["processed"] == device.sent  # INFO_REQ, the echo, the status request


def test_an_alert_latency_splits_into_parts_that_add_up(device):
    from takeover import scenario as scenarios
    from takeover.runner import Pace, run_scenario

    run = run_scenario(device, scenarios.load("su7-construction-zone"), Pace(speed=4.0))
    assert run.passed, run.failures
    timed = [a for a in run.alerts if a["latency_us"] is not None]
    assert timed
    for a in timed:
        assert a["uplink_us"] + a["device_us"] + a["downlink_us"] == pytest.approx(a["latency_us"], abs=0.5)
        assert a["device_us"] == a["proc_us"]
        # the clock fit may move up to its uncertainty between uplink and downlink, no more
        slack = run.clock["offset_uncertainty_us"] + 1
        assert a["uplink_us"] > -slack and a["downlink_us"] > -slack
    assert run.floor_us["frame_bytes"] == len(codec.encode("radar", 0, targets=[
        {"id": 0, "range": 0, "range_rate": 0, "lateral": 0}] * len(run.scenario.targets)))
    assert run.latency_vs_floor["p50"] == pytest.approx(run.latency_us["p50"] / run.floor_us["p50"], abs=0.01)


def test_every_frame_sent_is_accounted_for(device):
    device.start_session()
    device.send("driver", t_ms=0, flags=DRIVER_ATTENTIVE)
    for k in range(20):
        device.send("radar", targets=[{"id": 1, "range": 80000, "range_rate": 0, "lateral": 0}], t_ms=50 * k)
    status = device.status()
    assert status is not None
    assert (status["processed"], status["dropped"], status["rejected"]) == (device.sent, 0, 0)


def test_garbage_on_the_line_is_skipped_and_the_next_frame_is_read(device, port):
    if ports.kind(port) is None:
        pytest.skip("writes raw garbage; only on a board the test started (sim, pico-emu)")
    device.start_session()
    good = codec.encode("ping", 1, token=77)
    corrupt = bytearray(codec.encode("ping", 2, token=78))
    corrupt[9] ^= 0x40
    device._ser.write(b"\x00\xa5\x13garbage\xa5" + bytes(corrupt) + good)
    device._seq = 3
    device.sent += 2
    pong = device.wait_for("pong", 2.0)
    assert pong is not None and pong["token"] == 77
    status = device.status()
    # The corrupted frame shows as a CRC error and, by its missing seq, as rejected.
    assert status["bad_crc"] >= 1 and status["skipped_bytes"] > 0
    assert status["processed"] + status["rejected"] == device.sent


def test_emergency_drives_every_output_including_the_brake_request(device, port):
    if port != "sim":
        pytest.skip("reads the simulated board's output events")
    device.start_session()
    rows = {row[alerts.LEVEL]: row for row in alerts.TABLE if row[alerts.CAUSE] == alerts.CAUSE_COLLISION}
    # A target 10 m ahead closing at 20 m/s: TTC 0.5 s, inside every threshold. WARNING and above
    # need confirmation on consecutive frames, the brake request a longer track, so the same track
    # is reported until it is long enough.
    st = Settings()
    seq = None
    for k in range(st.brake_confirm_frames):
        seq, _ = device.send("radar", targets=[{"id": 1, "range": 10000 - 1000 * k, "range_rate": -20000,
                                                "lateral": 0}], t_ms=50 * k, ego_speed=20000)
    alert = device.wait_for("alert", 2.0, match=lambda m: m["level"] == alerts.EMERGENCY)
    assert alert is not None and alert["frame_seq"] == seq
    assert alert["level"] == alerts.EMERGENCY
    assert alert["outputs"] == alerts.outputs_of(rows[alerts.EMERGENCY])
    assert alert["outputs"] & alerts.OUT_BRAKE
    deadline = time.monotonic() + 2.0
    outputs = device.sim.events_of("output")
    while (not outputs or outputs[-1]["level"] != alerts.EMERGENCY) and time.monotonic() < deadline:
        time.sleep(0.01)
        outputs = device.sim.events_of("output")
    last = outputs[-1]
    assert last["level"] == alerts.EMERGENCY and last["brake"] == 1
    assert last["tone_hz"] == rows[alerts.EMERGENCY][alerts.TONE_HZ]


def test_sim_command_prints_a_port_pyserial_can_open():
    proc = subprocess.Popen([sys.executable, "-m", "takeover.cli", "sim"], stdout=subprocess.PIPE, text=True)
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        with serial.Serial(path, timeout=0.1) as ser:
            ser.write(codec.encode("info_req", 0))
            reader = codec.FrameReader()
            names = []
            deadline = time.monotonic() + 5
            while "hello" not in names and time.monotonic() < deadline:
                names += [codec.decode_payload(p).name for p in reader.feed(ser.read(64))]
        assert "hello" in names
        boot = json.loads(proc.stdout.readline())
        assert boot["ev"] == "boot"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0

"""What `takeover config` changes, and where the change lives."""

from takeover import scenario as scenarios
from takeover.cli import main
from takeover.device import Device
from takeover.runner import Pace, run_scenario
from takeover.simboard import SimBoard


def test_a_run_names_the_setting_a_board_was_changed_to(capsys):
    with SimBoard() as board:  # a board that outlives each command, as a real one does
        assert main(["config", "reaction_s=1.5", "--port", board.port]) == 0
        assert "note:" not in capsys.readouterr().out  # it stays: nothing to warn about
        with Device(board.port) as dev:
            run = run_scenario(dev, scenarios.load("lead-car-same-speed"), Pace(lockstep=True), measure_link=False)
    assert any("settings hash" in w for w in run.warnings)
    named = [w for w in run.warnings if w.startswith("settings changed on the board")]
    assert named == ["settings changed on the board: reaction_s 1.5 s on the board, 1.2 s here"]


def test_config_on_a_board_it_started_says_the_change_goes_with_it(capsys):
    assert main(["config", "reaction_s=1.5"]) == 0
    out = capsys.readouterr().out
    assert "set reaction_s = 1.5 s" in out and "note: --port sim started a board for this command alone" in out


def test_a_saved_setting_survives_a_reset_of_the_board(capsys):
    with SimBoard() as board:
        assert main(["config", "reaction_s=1.5", "--port", board.port]) == 0
        assert "saved on the board's file system" in capsys.readouterr().out
        assert main(["config", "ttc_warning_s=4.5", "--port", board.port]) == 0  # saved over the first file
        assert (board.flash_dir / ".takeover-settings").read_text() == "ttc_warning_s 4500\nreaction_s 1500\n"
        # a reset: into maintenance mode (a hard reset) and out of it (main.py runs again)
        assert main(["repl", "--port", board.port, "--board", "sim"]) == 0
        assert main(["repl", "--port", board.port, "--board", "sim", "--exit"]) == 0
        assert len(board.events_of("boot")) >= 2
        capsys.readouterr()
        assert main(["config", "--port", board.port]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("reaction_s "))
        assert row.split()[1] == "1.5"
        assert main(["config", "--defaults", "--port", board.port]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("reaction_s "))
        assert row.split()[1] == "1.2"


def test_a_flash_keeps_the_saved_settings_and_accepts_the_board(capsys):
    with SimBoard() as board:
        assert main(["config", "reaction_s=1.5", "--port", board.port]) == 0
        capsys.readouterr()
        assert main(["flash", "--port", board.port, "--board", "sim"]) == 0
        out = capsys.readouterr().out
        assert out.strip().splitlines()[-1].startswith("flashed sim on ")
        assert (board.flash_dir / ".takeover-settings").read_text() == "reaction_s 1500\n"
        assert main(["config", "--port", board.port]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("reaction_s "))
        assert row.split()[1] == "1.5"

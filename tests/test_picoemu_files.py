"""Where the emulated Pico finds the files it needs, and what it says when one is missing."""

import shutil

import pytest

from takeover import picoemu, ports
from takeover.errors import LinkError, SetupError
from takeover.picoemu import MissingFile, find_file, image_path


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No environment variables, an empty user cache, no shared folder."""
    for kind in picoemu.FILES:
        monkeypatch.delenv(picoemu.FILES[kind][2], raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(picoemu, "SHARED", tmp_path / "shared")
    return tmp_path


@pytest.mark.parametrize("kind", sorted(picoemu.FILES))
def test_a_missing_file_is_one_line_naming_it_where_to_get_it_and_where_to_put_it(nowhere, kind):
    name, _, env, what = picoemu.FILES[kind]
    with pytest.raises(MissingFile) as err:
        find_file(kind)
    text = str(err.value)
    assert "\n" not in text and name in text and what in text and env in text
    assert str(nowhere / "cache" / "takeover" / "pico-emu" / name) in text


def test_the_environment_variable_is_the_only_place_looked_at_when_set(nowhere, monkeypatch):
    monkeypatch.setenv("TAKEOVER_PICO_UF2", str(nowhere / "missing.uf2"))
    with pytest.raises(MissingFile, match="TAKEOVER_PICO_UF2=.*missing.uf2 does not exist"):
        find_file("uf2")


def test_a_file_with_another_sha256_is_refused_not_skipped(nowhere, monkeypatch):
    wrong = nowhere / "wrong.bin"
    wrong.write_bytes(b"\x00" * 16384)
    monkeypatch.setenv("TAKEOVER_PICO_BOOTROM", str(wrong))
    with pytest.raises(SetupError, match="its sha256 is") as err:
        find_file("bootrom")
    assert not isinstance(err.value, MissingFile)  # a wrong file is an error, never a skip


def test_the_user_cache_comes_before_the_shared_folder(nowhere, monkeypatch):
    real = picoemu.REPO.parent / "shared" / "pico-emulator" / picoemu.FILES["bootrom"][0]
    if not real.is_file():
        pytest.skip(f"needs {real}")
    cache = nowhere / "cache" / "takeover" / "pico-emu"
    cache.mkdir(parents=True)
    shutil.copyfile(real, cache / real.name)
    (nowhere / "shared").mkdir()
    shutil.copyfile(real, nowhere / "shared" / real.name)
    assert find_file("bootrom") == cache / real.name
    (cache / real.name).unlink()
    assert find_file("bootrom") == nowhere / "shared" / real.name


def test_flash_images_are_named_boards_in_the_cache_or_paths(nowhere):
    assert image_path("default") == nowhere / "cache" / "takeover" / "pico-emu" / "flash-default.img"
    assert image_path("/tmp/x.img") == picoemu.Path("/tmp/x.img")
    with pytest.raises(LinkError, match="letters, digits"):
        image_path("no such name!")


def test_port_strings_resolve_by_their_scheme():
    assert ports.kind("sim") == "sim"
    assert ports.kind("pico-emu") == ports.kind("pico-emu:gw1") == "pico-emu"
    for serial_port in ("/dev/ttyACM0", "COM3", "rfc2217://lab:4001", "socket://localhost:7000"):
        assert ports.kind(serial_port) is None
        opened = ports.start(serial_port)
        assert opened.path == serial_port and opened.board is None  # opened as it is, by pyserial

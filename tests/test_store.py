"""Settings saved on the board's file system (tkfw.store): what a config_set the board accepts
leaves behind, what a boot makes of it, and what it refuses."""

from fake_io import ByteIO
from takeover import codec
from tkfw import schema, store
from tkfw.app import Firmware
from tkfw.settings import SPEC, Settings

KEY = {row[0]: k for k, row in enumerate(SPEC)}


class FileIO(ByteIO):
    def __init__(self, path, data=b""):
        super().__init__(data)
        self.settings_file = str(path)
        self.logged = []

    def log(self, text):
        self.logged.append(text)


def _board(path, *frames):
    io = FileIO(path, b"".join(frames))
    fw = Firmware(io, "test")
    while io.pending():
        fw.poll(0)
    return fw, io


def test_an_accepted_change_is_saved_and_the_next_boot_runs_it(tmp_path):
    path = tmp_path / "settings"
    fw, io = _board(path, codec.encode("config_set", 1, key=KEY["reaction_s"], value=1500))
    assert [m["status"] for m in io.out if m.name == "config"] == [schema.CONFIG_OK]
    assert path.read_text() == "reaction_s 1500\n"  # only what differs from the defaults
    assert not (tmp_path / "settings.tmp").exists()  # written aside, then renamed over
    rebooted, io2 = _board(path, codec.encode("info_req", 1))
    assert rebooted.settings.reaction_ms == 1500 and rebooted.settings_faults == 0
    hello = next(m for m in io2.out if m.name == "hello")
    assert hello["features"] & schema.FEATURE_SETTINGS_SAVED
    assert hello["settings_hash"] == rebooted.settings.digest() != Settings().digest()


def test_a_refused_change_saves_nothing_and_back_to_the_default_removes_the_file(tmp_path):
    path = tmp_path / "settings"
    _board(path, codec.encode("config_set", 1, key=KEY["reaction_s"], value=500))  # below its floor
    assert not path.exists()
    _board(path, codec.encode("config_set", 1, key=KEY["reaction_s"], value=1500))
    assert path.exists()
    _board(path, codec.encode("config_set", 1, key=KEY["reaction_s"], value=1200))  # the default again
    assert not path.exists()


def test_a_saved_value_outside_its_bounds_is_refused_at_boot_and_counted(tmp_path):
    path = tmp_path / "settings"
    path.write_text("reaction_s 500\nttc_warning_s 4500\n")  # a floor broken by hand, and a fine one
    fw, io = _board(path, codec.encode("status_req", 1))
    assert fw.settings.reaction_ms == Settings().reaction_ms and fw.settings.ttc_warning_ms == 4500
    assert fw.settings_faults == 1 and "reaction_s = 500 refused" in io.logged[0]
    status = next(m for m in io.out if m.name == "status")
    assert status["settings_faults"] == 1


def test_an_unreadable_file_is_ignored_whole(tmp_path):
    path = tmp_path / "settings"
    path.write_text("ttc_warning_s 4500\nreaction_s one-and-a-half\n")
    fw, io = _board(path)
    assert fw.settings.digest() == Settings().digest()  # nothing applied, not even the good line
    assert fw.settings_faults == 1 and "ignored whole" in io.logged[0]


def test_without_a_file_system_nothing_is_saved_and_the_hello_says_so():
    io = ByteIO(codec.encode("info_req", 1))
    fw = Firmware(io, "test")
    while io.pending():
        fw.poll(0)
    hello = next(m for m in io.out if m.name == "hello")
    assert not hello["features"] & schema.FEATURE_SETTINGS_SAVED and fw.settings_file is None


def test_save_reports_a_board_that_cannot_write(tmp_path):
    settings = Settings()
    settings.set_device(KEY["reaction_s"], 1500)
    assert store.save(settings, str(tmp_path / "no" / "such" / "folder" / "settings")) is False


def test_on_a_file_system_that_will_not_rename_onto_a_file_the_old_one_goes_first(tmp_path, monkeypatch):
    import os

    real_rename = os.rename

    def fat_rename(src, dst):  # FAT: FR_EXIST when the destination exists
        if os.path.exists(dst):
            raise OSError(17, "EEXIST")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", fat_rename)
    path = tmp_path / "settings"
    settings = Settings()
    settings.set_device(KEY["reaction_s"], 1500)
    assert store.save(settings, str(path)) and path.read_text() == "reaction_s 1500\n"
    settings.set_device(KEY["reaction_s"], 1600)
    assert store.save(settings, str(path)) and path.read_text() == "reaction_s 1600\n"
    assert not (tmp_path / "settings.tmp").exists()

"""Settings that survive a reset, on a board with a file system.

A `config_set` the board accepts is saved at once; at boot the saved values are applied over the
defaults. Only values that differ from their default are kept (one line each, "name value" in the
device unit), so a firmware whose defaults change takes the new ones for every setting nobody set.

Saving writes a temporary file and renames it over the old one (on littlefs, the file system
MicroPython gives the Pico family, a rename replaces the old file atomically), so a reset or a
power cut while saving leaves the old file or the new one, never half of one. A FAT file system
refuses to rename onto an existing file: there the old one is removed first, and a power cut
between the two steps leaves only the temporary file, which the next boot does not read (the
defaults run, and the next save writes both again). At boot every line is checked as `config_set` checks
a value (the range, the safety floors and ceilings): a value outside is not applied, and a file
that cannot be read as lines of "name integer" is ignored whole. Each is a fault, counted in
STATUS `settings_faults` and logged; the board then runs with the defaults for what was refused.

Only on `config_set` and at boot: never on a frame's path, so the allocations here cost no frame.
"""

from tkfw.settings import SPEC, Settings, device_name

FILE = "/.takeover-settings"  # on the board's file system, beside main.py (flash never removes it)


def load(settings, path):
    """Apply the saved values at `path` to `settings`. Returns (applied, faults, why): the count of
    values applied, of problems found, and the last problem in words ("" when none)."""
    from tkfw import schema

    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return 0, 0, ""  # nothing saved: the defaults
    keys = {row[0]: k for k, row in enumerate(SPEC)}
    wanted = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in keys:
            return 0, 1, "settings file unreadable at %r: ignored whole" % (line[:40],)
        try:
            wanted.append((keys[parts[0]], int(parts[1])))
        except ValueError:
            return 0, 1, "settings file unreadable at %r: ignored whole" % (line[:40],)
    applied = faults = 0
    why = ""
    for key, value in wanted:
        if settings.set_device(key, value) == schema.CONFIG_OK:
            applied += 1
        else:
            faults += 1
            why = "saved %s = %d refused (outside its range or safety bound): default kept" % (SPEC[key][0], value)
    return applied, faults, why


def save(settings, path):
    """Write every value that differs from its default to `path` (the file goes when none does).
    True when saved; False where the board cannot write (no file system, full, read-only)."""
    import os

    defaults = Settings()
    lines = []
    for row in SPEC:
        dev = device_name(row[0])
        value = getattr(settings, dev)
        if value != getattr(defaults, dev):
            lines.append("%s %d\n" % (row[0], value))
    try:
        if not lines:
            try:
                os.remove(path)
            except OSError:
                pass  # nothing was saved
            return True
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            for line in lines:
                f.write(line)
        try:
            os.rename(tmp, path)
        except OSError:  # FAT: no rename onto an existing file
            os.remove(path)
            os.rename(tmp, path)
        return True
    except OSError:
        return False

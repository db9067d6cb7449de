"""Progress bars over scenarios and over the frames of the current one (tqdm), for a terminal only.

Bars appear only when stdout is a terminal and more than one run is ahead; otherwise every method
does nothing, so piped or redirected output stays exactly the printed summary. Bars are transient
(cleared when done), and lines printed through `printing()` go above them, not through them.
"""

from __future__ import annotations

import contextlib
import shutil
import sys

from tqdm import tqdm


class Progress:
    def __init__(self, total: int, unit: str = "scenario", enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stdout
        if enabled is None:
            enabled = total > 1 and self.stream.isatty()
        self.enabled = enabled
        self._outer = (tqdm(total=total, unit=unit, desc="scenarios", position=0, leave=False,
                            file=self.stream, ncols=_width()) if enabled else None)
        self._inner = None

    def start(self, name: str) -> None:
        """A new run begins: name it on the outer bar."""
        if self._outer is not None:
            self._outer.set_postfix_str(name, refresh=True)

    def frames(self, k: int, n: int) -> None:
        """run_scenario's progress callback: k of n radar frames sent."""
        if self._outer is None:
            return
        if self._inner is None:
            self._inner = tqdm(total=n, unit="frame", desc="frames", position=1, leave=False,
                               file=self.stream, ncols=_width())
        self._inner.update(k - self._inner.n)

    def done(self) -> None:
        """The current run has finished."""
        if self._outer is None:
            return
        if self._inner is not None:
            self._inner.close()
            self._inner = None
        self._outer.update(1)

    @contextlib.contextmanager
    def printing(self):
        """Print inside this block: bars are cleared first and redrawn after."""
        if self._outer is None:
            yield
            return
        with tqdm.external_write_mode(file=self.stream):
            yield

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None
        if self._outer is not None:
            self._outer.close()
            self._outer = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _width() -> int:
    """The terminal's width now (80 when it reports none, as an unsized pty does)."""
    return shutil.get_terminal_size((80, 24)).columns

"""The demo's figure (PNG) and animation (GIF): both runs on the same road and the same time axis.

Slide-sized: 16:9, fonts of 12 pt and up at 16 x 9 inches. For each run, one above the other:
a top-down road (the ego, the barrier, the point where the radar first sees it, the alert level
painted on the road where the car was, where the warning came and where the driver braked), a
timeline (speed, alert levels as colour bands) and the outcome. The GIF replays the runs in real
time (one GIF second = one scenario second) and ends on the PNG's picture. matplotlib draws
through Agg; the GIF goes through matplotlib's Pillow writer.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MultipleLocator
from PIL import Image

from takeover.demo import STAND_IN_NOTE, DemoRun
from takeover.plant import KPH
from takeover.report import LEVEL_COLOURS
from takeover.scenario import Scenario

SIZE_IN = (16, 9)
PNG_DPI = 100  # 1600 x 900
GIF_DPI = 60  # 960 x 540: small enough to mail, same layout
HOLD_S = 3.0  # the GIF rests this long on the final picture
CAR_M = (7.0, 2.0)  # drawn length, width: longer than an SU7 (5.0 x 1.96 m) so it reads as a car at this scale
LANE_M = 3.5
ROAD_BLUE = "#1f4e99"
IMPACT, SAFE = "#c62828", "#1b7f3b"
ASPHALT, MARKING, SHOULDER, RADAR = "#5b5b5b", "#f2f2f2", "#d9d4c7", "#7fb8ff"


class _Block:
    """One run: header texts, road view, timeline."""

    def __init__(self, fig: Figure, r: DemoRun, top: float, t_max: float, x_max: float):
        self.r = r
        p = np.array([(t, x, v) for t, x, v, _ in r.plant.path])
        self.t, self.x, self.v = p[:, 0], p[:, 1], p[:, 2]
        self.end_t = r.end_t_s
        self.barrier_x = r.barrier_x_m
        fig.text(0.05, top, r.title, fontsize=19, fontweight="bold", va="center")
        self.readout = fig.text(0.05, top - 0.038, "", fontsize=15, va="center", family="DejaVu Sans Mono")
        self.story = fig.text(0.05, top - 0.038, self._story(), fontsize=16, va="center", color="#222222")
        self.badge = fig.text(0.45, top - 0.038, "", fontsize=15, va="center", fontweight="bold",
                              bbox={"boxstyle": "round,pad=0.25", "lw": 0, "fc": "white"})
        colour = IMPACT if r.collided else SAFE
        self.outcome = fig.text(0.95, top - 0.018, r.outcome()[0].upper() + r.outcome()[1:], fontsize=24, fontweight="bold",
                                ha="right", va="center", color="white",
                                bbox={"boxstyle": "round,pad=0.3", "lw": 0, "fc": colour})
        self.road = fig.add_axes((0.05, top - 0.22, 0.90, 0.16))
        self.time_ax = fig.add_axes((0.05, top - 0.345, 0.90, 0.095))
        self._draw_road(x_max)
        self._draw_timeline(t_max)
        # What show() changes; everything else is drawn once (Scene.freeze_background).
        self.dynamic = [self.readout, self.story, self.badge, self.outcome, self.trail, self.car, self.lights, self.burst,
                        self.speed, self.mask, self.now, self.end_mark]
        self.dynamic += [a for _, artists in self.events for a in artists] + list(self.short or ())

    # -- static parts ------------------------------------------------------------------------
    def _draw_road(self, x_max: float) -> None:
        ax, r = self.road, self.r
        ax.set_xlim(-12, x_max)
        ax.set_ylim(-4.6, 6.2)
        ax.set_axis_off()
        half = LANE_M / 2
        ax.add_patch(Rectangle((-50, -4.6), x_max + 100, 11, color=SHOULDER, zorder=0))
        ax.add_patch(Rectangle((-50, -half - 0.2), x_max + 100, 2 * LANE_M + 0.4, color=ASPHALT, zorder=0))
        ax.plot([-50, x_max + 50], [half, half], color=MARKING, lw=2, ls=(0, (6, 6)), zorder=1)
        for y in (-half - 0.05, half + LANE_M + 0.05):
            ax.plot([-50, x_max + 50], [y, y], color=MARKING, lw=2.5, zorder=1)
        # The barrier: red and white across the ego's lane.
        ax.add_patch(Rectangle((self.barrier_x, -half), 2.5, LANE_M, facecolor="#d62728", edgecolor="white",
                               hatch="///", lw=1.0, zorder=4))
        ax.text(self.barrier_x + 1.25, -half - 0.45, "barrier", ha="center", va="top", fontsize=13,
                fontweight="bold", color="#8b0000", zorder=4)
        # Where the ego is when the barrier comes into the radar's range.
        seen = self.barrier_x - r.detect_range_m
        ax.plot([seen, seen], [-half, half], color=RADAR, lw=3, ls=(0, (2, 2)), zorder=3)
        ax.text(seen, -half - 0.45, f"barrier in radar range ({r.detect_range_m:g} m)", ha="center", va="top",
                fontsize=13, color="#1f3f6e", zorder=3)
        # The alert level painted on the lane where the car was, revealed as it drives.
        quads, colours = [], []
        for k in range(len(self.t) - 1):
            level = r.level_at(self.t[k])
            quads.append([(self.x[k], -half), (self.x[k + 1], -half), (self.x[k + 1], half), (self.x[k], half)])
            colours.append(LEVEL_COLOURS.get(level, ASPHALT))
        self._trail_colours = np.array([_rgba(c, 0.75 if c != ASPHALT else 0.0) for c in colours]).reshape(-1, 4)
        self.trail = PolyCollection(quads, facecolors=self._trail_colours, lw=0, zorder=2)
        ax.add_collection(self.trail)
        length, width = CAR_M
        self.car = Rectangle((-length, -width / 2), length, width, facecolor="#e8eef7", edgecolor="black",
                             lw=1.5, zorder=5)
        ax.add_patch(self.car)
        self.lights = Rectangle((-length - 0.2, -width / 2), 0.7, width, facecolor="#ff1a1a", lw=0, zorder=6,
                                visible=False)
        ax.add_patch(self.lights)
        self.burst = ax.plot([self.barrier_x], [0], marker="*", ms=44, color="#ffd400", mec=IMPACT, mew=2.5,
                             zorder=7, visible=False)[0]
        # Where the warning came and where the driver's foot landed, labelled in the other lane.
        self.events = []
        w = r.warning
        if w is not None and w["t_s"] is not None and w["t_s"] <= self.end_t:
            self.events.append(self._event(w["t_s"], f"{w['level']} (TTC {w['ttc_s']:.1f} s)", "right",
                                           LEVEL_COLOURS[w["level"]]))
        brake = self._driver_brake_s()
        if brake is not None:
            self.events.append(self._event(brake, "driver brakes", "left", "#2e7d32"))
        self.short = None
        if not r.collided and r.plant.stopped_t_s is not None:
            x0 = self.x[-1]
            arrow = ax.annotate("", (self.barrier_x, -0.9), (x0, -0.9), zorder=6, arrowprops={
                "arrowstyle": "<->", "color": "white", "lw": 2.5, "shrinkA": 0, "shrinkB": 0})
            lo, hi = ax.get_xlim()
            self.short = (arrow,)
            if r.short_m / (hi - lo) * 0.90 * SIZE_IN[0] > 1.0:  # an inch between the car and the barrier
                self.short += (ax.text((x0 + self.barrier_x) / 2, -0.4, f"{r.short_m:.1f} m", ha="center",
                                       va="bottom", fontsize=15, fontweight="bold", color="white", zorder=6),)

    def _story(self) -> str:
        """The run in one line, for the final picture: where the warning came, where braking began."""
        r, w = self.r, self.r.warning
        if w is None or w["t_s"] is None or w["t_s"] > self.end_t:
            return "no warning before the end"
        text = f"{w['level']} at TTC {w['ttc_s']:.1f} s ({w['gap_m']:.0f} m to go)  \u2192  "
        brake, aeb = self._driver_brake_s(), r.plant.aeb_from_s
        if aeb is not None:  # the board's brake request braked the car too: both, in time order
            steps = sorted([(aeb, "the car brakes itself"), (brake, "the driver brakes")] if brake is not None
                           else [(aeb, "the car brakes itself")])
            return text + ", ".join(f"{what} {at - w['t_s']:.1f} s later" for at, what in steps)
        if brake is not None:
            gap = self.barrier_x - float(np.interp(brake, self.t, self.x))
            return text + f"driver brakes {brake - w['t_s']:.1f} s later ({gap:.0f} m to go)"
        return text + "too late: the driver never gets to brake"

    def _driver_brake_s(self) -> float | None:
        """When the driver's braking began, if it began before the end of the run."""
        brake = self.r.plant.driver_brake_at_s
        return brake if brake is not None and brake < self.end_t - 1e-6 else None

    def _event(self, t_s: float, text: str, side: str, colour: str):
        """A line across the road where the ego was at t_s, labelled in the other lane: the
        warning's label to the left of its line, the braking's to the right, so they never meet."""
        x = float(np.interp(t_s, self.t, self.x))
        half = LANE_M / 2
        line = self.road.plot([x, x], [-half, half + LANE_M], color=colour, lw=3, zorder=3)[0]
        lo, hi = self.road.get_xlim()
        width_m = (len(text) + 2) * 13 * 0.68 / 72 * (hi - lo) / (0.90 * SIZE_IN[0])  # bold 13 pt, roughly
        if side == "right" and x - width_m < lo:  # no room on that side: the other one
            side = "left"
        elif side == "left" and x + width_m > hi:
            side = "right"
        ha = "right" if side == "right" else "left"
        label = self.road.text(x, half + LANE_M / 2, f" {text} ", ha=ha, va="center", fontsize=13,
                               fontweight="bold", color=_ink(colour), zorder=6,
                               bbox={"boxstyle": "round,pad=0.2", "lw": 0, "fc": colour})
        return t_s, (line, label)

    def _draw_timeline(self, t_max: float) -> None:
        ax, r = self.time_ax, self.r
        top = max(self.v.max() / KPH, 1.0) * 1.18
        ax.set_xlim(0, t_max)
        ax.set_ylim(0, top)
        levels = r.levels + [(self.end_t, None)]
        for (start, level), (stop, _) in zip(levels, levels[1:]):
            if level in LEVEL_COLOURS and stop > start:
                ax.axvspan(start, stop, color=LEVEL_COLOURS[level], alpha=0.55, lw=0, zorder=0)
        self.mask = Rectangle((0, 0), t_max, top, facecolor="white", lw=0, zorder=1)
        ax.add_patch(self.mask)
        self.speed = ax.plot([], [], color="black", lw=3, zorder=3)[0]
        self.now = ax.axvline(0, color=ROAD_BLUE, lw=2, zorder=4)
        if r.collided:
            self.end_mark = ax.plot([self.end_t], [r.impact_kph], marker="X", ms=16, color=IMPACT, mec="white",
                                    zorder=5, visible=False)[0]
        else:
            self.end_mark = ax.plot([self.end_t], [0], marker="o", ms=11, color=SAFE, zorder=5, clip_on=False,
                                    visible=False)[0]
        ax.set_ylabel("km/h", fontsize=13)
        ax.yaxis.set_major_locator(MultipleLocator(50))
        ax.xaxis.set_major_locator(MultipleLocator(1))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} s"))
        ax.tick_params(labelsize=12)
        ax.grid(axis="y", color="#dddddd", lw=0.8, zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    # -- one moment --------------------------------------------------------------------------
    def show(self, t_s: float, final: bool) -> None:
        r = self.r
        t = min(t_s, self.end_t)
        done = t_s >= self.end_t - 1e-9
        x = float(np.interp(t, self.t, self.x))
        v = float(np.interp(t, self.t, self.v))
        self.car.set_x(x - CAR_M[0])
        self.lights.set_x(x - CAR_M[0] - 0.2)
        brake = r.plant.driver_brake_at_s
        braking = (brake is not None and t >= brake) or _aeb_by(r, t)
        self.lights.set_visible(bool(braking) and v > 0)
        shown = self.t[:-1] < t
        colours = self._trail_colours.copy()
        colours[~shown, 3] = 0.0
        self.trail.set_facecolors(colours)
        self.burst.set_visible(r.collided and done)
        for at, artists in self.events:
            for artist in artists:
                artist.set_visible(t >= at)
        if self.short is not None:
            for artist in self.short:
                artist.set_visible(done and final)
        self.outcome.set_visible(done)
        # The timeline so far.
        k = np.searchsorted(self.t, t, side="right")
        ts = np.append(self.t[:k], t)
        vs = np.append(self.v[:k], v) / KPH
        self.speed.set_data(ts, vs)
        self.mask.set_x(t)
        self.mask.set_width(max(self.time_ax.get_xlim()[1] - t, 0.0))
        self.now.set_xdata([t, t])
        self.now.set_visible(not final)
        self.end_mark.set_visible(done)
        # Readouts: the live numbers, and the level the driver is shown.
        gap = max(self.barrier_x - x, 0.0)
        ttc = gap / v if v > 0 else None
        self.readout.set_visible(not final)
        self.story.set_visible(final)
        self.readout.set_text(f"{t:4.1f} s   {v / KPH:5.1f} km/h   gap {gap:5.1f} m   TTC "
                              + ("  -  " if ttc is None or ttc > 99 else f"{ttc:4.1f} s"))
        level = r.level_at(t)
        if level in LEVEL_COLOURS and not final:
            self.badge.set_text(f" {level} ")
            self.badge.get_bbox_patch().set_facecolor(LEVEL_COLOURS[level])
            self.badge.set_color(_ink(LEVEL_COLOURS[level]))
            self.badge.set_visible(True)
        else:
            self.badge.set_visible(False)


def _aeb_by(r: DemoRun, t_s: float) -> bool:
    return r.plant.aeb_from_s is not None and t_s >= r.plant.aeb_from_s


def _ink(background: str) -> str:
    """Black or white text, whichever reads better on `background`."""
    r, g, b = to_rgb(background)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _fit(text, renderer, right_px: float, smallest: float = 11.0) -> None:
    """Shrink a text's font until it ends left of right_px (a long story beside the outcome box)."""
    while text.get_window_extent(renderer).x1 > right_px and text.get_fontsize() > smallest:
        text.set_fontsize(text.get_fontsize() - 0.5)


def _rgba(colour: str, alpha: float) -> tuple:
    return to_rgba(colour, alpha)


class Scene:
    """The whole picture; show(t) sets every artist to scenario time t."""

    def __init__(self, scn: Scenario, results: list[DemoRun], dpi: float = PNG_DPI):
        self.fig = fig = Figure(figsize=SIZE_IN, dpi=dpi, facecolor="white")
        FigureCanvasAgg(fig)
        d = scn.driver
        fig.text(0.05, 0.962, f"Xiaomi SU7 crash, reconstructed: {scn.ego.speed_kph:g} km/h, barrier in the lane",
                 fontsize=26, fontweight="bold", va="center")
        fig.text(0.05, 0.918, f"Same driver in both runs: starts braking {d.reaction_s:g} s after a WARNING, "
                              f"at {d.brake_mps2:g} m/s\u00b2.  Radar range {results[0].detect_range_m:g} m."
                              + ("" if scn.aeb.enabled else "  Brake request ignored."),
                 fontsize=17, va="center", color="#333333")
        self.end_t = max(r.end_t_s for r in results)
        t_max = np.ceil(self.end_t + 0.2)
        x_max = max(r.barrier_x_m for r in results) + 14
        self.blocks = [_Block(fig, r, top, t_max, x_max) for r, top in zip(results, (0.855, 0.445))]
        renderer = fig.canvas.get_renderer()
        for block in self.blocks:
            _fit(block.story, renderer, block.outcome.get_window_extent(renderer).x0 - 0.01 * fig.bbox.width)
        note = textwrap.fill(STAND_IN_NOTE, 170)
        fig.text(0.05, 0.012, note, fontsize=11, color="#555555", va="bottom")
        handles = [Patch(color=c, alpha=0.75, label=name) for name, c in LEVEL_COLOURS.items()]
        fig.legend(handles=handles, loc="lower right", bbox_to_anchor=(0.955, 0.0), ncol=4, fontsize=12,
                   frameon=False, handlelength=1.4, columnspacing=1.0)

    def show(self, t_s: float, final: bool = False) -> None:
        for block in self.blocks:
            block.show(t_s, final)

    @property
    def dynamic(self) -> list:
        """Every artist show() changes, in drawing order (axes by axes, then the figure's texts)."""
        out = [a for block in self.blocks for a in block.dynamic]
        return sorted(out, key=lambda a: (a.axes is None, a.zorder))


def write_png(path: Path, scn: Scenario, results: list[DemoRun]) -> None:
    scene = Scene(scn, results)
    scene.show(scene.end_t, final=True)
    scene.fig.savefig(path, dpi=PNG_DPI, metadata={"Software": None})


class _CanvasPillowWriter(PillowWriter):
    """matplotlib's Pillow writer, taking each frame from the canvas as drawn (blitted: the
    background once, then only what moves) instead of redrawing the whole figure, and mapping it
    to one palette (no per-frame quantizing: 3 ms a frame instead of 50, and no colour flicker)."""

    def __init__(self, fps: float, palette: Image.Image):
        super().__init__(fps=fps)
        self.palette = palette

    def grab_frame(self, **savefig_kwargs):
        rgb = Image.fromarray(_canvas_rgb(self.fig), "RGB")
        self._frames.append(rgb.quantize(palette=self.palette, dither=Image.Dither.NONE))


def _canvas_rgb(fig: Figure) -> np.ndarray:
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def write_gif(path: Path, scn: Scenario, results: list[DemoRun], fps: float = 10.0) -> None:
    """The runs in real time at `fps`, then HOLD_S on the final picture (the PNG's)."""
    scene = Scene(scn, results, dpi=GIF_DPI)
    fig, canvas = scene.fig, scene.fig.canvas
    pictures = []
    for t_s, final in ((0.0, False), (scene.end_t, True)):  # every colour the GIF will use
        scene.show(t_s, final)
        canvas.draw()
        pictures.append(_canvas_rgb(fig))
    swatch = np.zeros((40, pictures[0].shape[1], 3), dtype=np.uint8)  # small areas must keep their colour too
    keys = [np.array(to_rgb(c)) for c in (IMPACT, SAFE, RADAR, "#ff1a1a", "#ffd400", "#2e7d32", "black", "white")]
    for colour in LEVEL_COLOURS.values():  # as drawn: alone, on white (bands, legend), on asphalt (trail)
        rgb = np.array(to_rgb(colour))
        keys += [rgb, 0.55 * rgb + 0.45, 0.75 * rgb + 0.25, 0.75 * rgb + 0.25 * np.array(to_rgb(ASPHALT))]
    width = swatch.shape[1] // len(keys)
    for k, rgb in enumerate(keys):
        swatch[:, k * width:(k + 1) * width] = np.round(rgb * 255)
    palette = Image.fromarray(np.vstack(pictures + [swatch]), "RGB").quantize(colors=192)
    dynamic = scene.dynamic
    shown = [(a, a.get_visible()) for a in dynamic]
    for artist in dynamic:
        artist.set_visible(False)
    canvas.draw()  # everything that never moves, once
    background = canvas.copy_from_bbox(fig.bbox)
    for artist, visible in shown:
        artist.set_visible(visible)
    n = int(np.ceil(scene.end_t * fps)) + 1
    frames = [(min(k / fps, scene.end_t), False) for k in range(n)]
    frames += [(scene.end_t, True)] * max(1, int(HOLD_S * fps))  # identical frames: Pillow merges them
    writer = _CanvasPillowWriter(fps, palette)
    with writer.saving(fig, str(path), GIF_DPI):
        last = None
        for frame in frames:
            if frame != last:
                scene.show(*frame)
                canvas.restore_region(background)
                for artist in dynamic:
                    fig.draw_artist(artist)
                last = frame
            writer.grab_frame()

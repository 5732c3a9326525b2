"""Spotting: expression intervals (onset, apex, offset) per face, with blinks, head turns and
speech kept out.

Works per ``face_id`` on the per-frame table (after the FACS stage) plus what the spotting
stage recorded (:mod:`tells.spotting.stage`). All windows are in seconds, so any frame rate
works.

Method
------
1. Detection signal: for eleven facial regions (brows, glabella, cheeks, nose, mouth corners,
   chin; eyes are left to the blink logic), the mean position of the region's landmarks in the
   pose-normalised head frame, minus its rolling median over ``context_s`` (what the face
   holds, e.g. a polite smile, becomes background), divided by that region's typical
   deviation: the signal is the largest region, in multiples of its own noise. In a clip
   shorter than ``context_s`` where action units show in a third of the rows or more, the
   median and the noise are read from the calm rows (:func:`calm_track`): an expression
   held for half of a short clip would otherwise be its own baseline. Without
   recorded positions the strongest action-unit change over a rolling low percentile is used
   (:func:`expression_signal`).
2. Candidates are runs above half the threshold whose peak reaches it; the apex is the peak,
   onset and offset are where a smoother copy of the signal falls to ``edge`` of the peak's
   excess, walking out while it keeps falling, and at least to the ends of the run.
3. Kept out: intervals longer than ``macro_max_s`` (after cutting a long one down to its core
   above the full threshold, :func:`_core`); blinks (only eyelid units change, with
   AU45 at the apex or within ``blink_max_s``, and neither widened eyes, AU5, nor an opened
   mouth); head movements (pose change or speed over
   0.2 s beyond limits); mouth-only changes while the person talks (the lips open and close
   several times in the seconds around), unless one-sided (contempt); lighting changes (the
   skin of the whole face, or of one side against the other, brightening or darkening by
   ``light_change`` or ``light_side`` log units between just before the onset and any frame
   up to the apex: a lamp, a window or a screen, which move the mesh and the skin's look as
   an expression would); poor-quality rows;
   changes whose only active units open the mouth (they count when the change is
   ``mouth_only_factor`` times the threshold), and, when the action-unit signal drives
   detection, changes with no expressive unit active; changes peaking in the first
   ``track_start_s`` of a face's track (no onset seen). A landmark deformation past the
   threshold with no unit reaching ``active`` is kept when an expressive unit rose by
   ``trace``: a weak expression (a third of a posed one) moves the face clearly while each
   unit reads well below A. It is a blink only if the lids took part (a lid unit active, or
   closing by ``lid_trace``).
4. ``kind`` is micro when onset→offset ≤ ``micro_max_s``, else macro.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.ndimage import percentile_filter, uniform_filter1d

from tells.contract import AU_NUMBERS

#: action units that carry expressions (speech 25/26 and eyelid 43/45 are handled apart)
EXPRESSIVE_AUS = [n for n in AU_NUMBERS if n not in (25, 26, 43, 45)]
MOUTH_AUS = {10, 12, 14, 15, 17, 20, 23, 24, 28}
EYELID_AUS = {5, 6, 7, 43, 45}
#: a row whose expressive action units all read below this is calm (enters the baseline)
CALM_AU = 1.0
#: in a clip shorter than the baseline's window, the share of rows showing an action unit from
#: which the baseline and the noise are read from the calm rows (:func:`calm_track`)
EXPRESSIVE_SHARE = 1.0 / 3.0
#: calm rows needed for the noise of each region to be read from calm rows only
MIN_CALM_ROWS = 10
@dataclass(frozen=True)
class SpotParams:
    """Spotting settings (seconds and AU intensity units 0..5)."""

    threshold: float = 1.0  # strongest AU change at apex (≈ FACS A/B border)
    deform_threshold: float = 6.0  # landmark deformation at apex, in multiples of its noise
    edge_smooth_s: float = 0.15  # smoothing of the signal used to place onset and offset
    edge: float = 0.15  # onset/offset where the change falls to this fraction of the peak
    context_s: float = 8.0  # local baseline window
    baseline_pct: float = 20.0  # its percentile
    smooth_s: float = 0.05
    micro_max_s: float = 0.5
    macro_max_s: float = 4.0
    min_s: float = 0.06
    head_turn_rad: float = 0.3  # pose change within an interval that marks a head movement
    head_speed_rad_s: float = 2.0
    #: a face change this many times the detection threshold is an expression even with a
    #: head movement up to ``head_override_rad`` (people nod or tilt as they react)
    head_override: float = 15.0
    head_override_rad: float = 0.5
    #: lighting changes (log units, up to the apex, against the 0.1 s before the onset): of
    #: the whole face's skin (0.4: 49 % brighter or 33 % darker) and of one side against the
    #: other (0.8: by a factor of 2.2). A lamp swung past the face (OpenFace's
    #: changeLighting.wmv) reached 1.09 one side against the other, read as a contempt; real
    #: expressions in the sample and development videos at most 0.26 (a hand moved over one
    #: side of the face) and 0.08, and 0.51 between a calm frame of WolfgangLanger_Pexels.mp4
    #: and her crying face with a hand on one side, cut together as a flash
    light_change: float = 0.4
    light_side: float = 0.8
    talk_window_s: float = 2.0  # looked at before the onset and after the offset
    talk_cycles: int = 3  # mouth open-close cycles in that context that mean talking
    talk_depth: float = 0.5  # AU25+AU26 swing (intensity) that counts as one cycle
    gap_s: float = 0.25  # a face missing longer than this splits its series
    active: float = 0.75  # AU change at apex that counts as active in the event's AU code
    lid_trace: float = 0.3  # lid closing (AU43/AU45 change) that makes a weak change a blink
    #: rise of an expressive unit that makes a weak change an expression (0.1: 0.2 s flashes
    #: of photo pairs morphed to 35 % of their strength, `scripts/devset_subtle.py`, spotted
    #: .883 against .834 with 0.2; the real pairs, talking heads and `tells bench spotting`
    #: the same with either)
    trace: float = 0.1
    blink_max_s: float = 0.45  # an eyelid-only change this short is a blink (AU45 or not)
    #: a change whose only units open the mouth (AU25/26, no talking around it) counts when
    #: its peak reaches this many times the threshold (a dropped jaw in a flash of surprise)
    mouth_only_factor: float = 4.0
    #: a change peaking this soon after a face's track starts has no onset to see (the mesh
    #: and the person's neutral are still settling): left out
    track_start_s: float = 0.3
    #: live spotting: the rows end at the present, so the baseline's window is cut at the
    #: newest row instead of extended with copies of it (they would stand in for the seconds
    #: not yet seen): each row's baseline is the median of the rows within ``context_s / 2``
    #: of it that exist (:func:`deformation_signal`)
    causal: bool = False
    #: with ``causal``, the rows also begin where the face's track began (a young track): the
    #: window is cut there too, instead of the ``context_s`` window shrinking to the few rows
    #: there are and extended with copies of the first
    causal_start: bool = False

    def peak_threshold(self, by_positions: bool) -> float:
        """The threshold a candidate's peak is measured against: the landmark deformation's
        when region positions drive detection, else the action-unit signal's."""
        return self.deform_threshold if by_positions else self.threshold


@dataclass
class Candidate:
    face_id: int
    onset: int  # row positions within the face's series
    apex: int
    offset: int
    peak: float
    reason: str = ""  # why it was dropped ("" = kept)
    aus: dict[str, float] = field(default_factory=dict)


def columns(df: pd.DataFrame, names: list[str], dtype=None) -> np.ndarray:
    """``df[names].to_numpy(dtype)``'s values, one column at a time: pandas' list indexing
    costs about six times as much (it builds an index of the names), and the detector reads
    a few tables this way on every live detection. Rows × names, row-major (the list
    indexing hands columns out column-major: only sums along the rows can tell)."""
    return np.column_stack([df[c].to_numpy(dtype=dtype) for c in names])


def _window(seconds: float, dt: float) -> int:
    return max(1, int(round(seconds / dt)))


def rolling_percentile(x: np.ndarray, percentile: float, size: int,
                       cut: tuple[bool, bool] = (False, False)) -> np.ndarray:
    """Each column's rolling ``percentile`` over ``size`` rows centred on each row, the edges
    extended with the first and last row: the values of
    ``scipy.ndimage.percentile_filter(x, percentile, size=(size, 1), mode="nearest")``.

    That call runs SciPy's N-D rank filter (a selection over the whole window at every
    element: ~13 ms for 480 × 26 values and a 241-row window); SciPy's 1-D rank filter keeps
    the window sorted as it slides (~35 times faster). All columns go through it in one call:
    each column padded with ``size // 2`` copies of its first and last value (what
    ``mode="nearest"`` reads past the edges) and laid end to end, so no window of an output
    kept reaches into another column. Both pick the same element of the same window (a rank
    filter interpolates nothing). Inputs with NaN, or not a 2-D float array, take the N-D
    filter itself (NaN orders differently in the two).

    ``cut`` (start, end; the median only): the window is cut at that end instead of extended,
    so a row's value is the median of the rows within ``size // 2`` of it that exist (of an
    even count, one of the two middle ones). A cut end is padded with -inf and +inf in turn,
    -inf next to the first row and +inf next to the last, so that every window holds as many
    of each as it can (one more of either at most, both ends cut): its middle element is
    then the middle of its rows.
    """
    x = np.asarray(x)
    if any(cut):
        if percentile != 50 or size % 2 == 0:
            raise ValueError("a cut window takes the median over an odd size")
        if x.ndim != 2 or not x.size or np.isnan(x).any():
            raise ValueError("a cut window takes a 2-D table without NaN")
        x = x.astype(np.float64)
    elif (x.ndim != 2 or x.dtype not in (np.float32, np.float64) or not x.size
            or np.isnan(x).any()):
        return percentile_filter(x, percentile, size=(size, 1), mode="nearest")
    n, c = x.shape
    h = size // 2
    turns = np.where(np.arange(h) % 2 == 0, -np.inf, np.inf)[:, None].repeat(c, axis=1)
    padded = np.concatenate([turns[::-1] if cut[0] else np.repeat(x[:1], h, axis=0), x,
                             -turns if cut[1] else np.repeat(x[-1:], h, axis=0)])
    flat = np.ascontiguousarray(padded.T).ravel()
    out = percentile_filter(flat, percentile, size=size, mode="nearest")
    return np.ascontiguousarray(out.reshape(c, n + 2 * h)[:, h:h + n].T)


def expression_signal(face: pd.DataFrame, p: SpotParams) -> tuple[np.ndarray, np.ndarray]:
    """(signal, per-AU change matrix) for one face's contiguous rows."""
    t = face["timestamp"].to_numpy()
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30
    cols = [f"AU{n:02d}_r" for n in EXPRESSIVE_AUS]
    x = face[cols].to_numpy(dtype=float)
    x = np.nan_to_num(x)
    ctx = _window(p.context_s, dt)
    if len(x) > 3:
        base = rolling_percentile(x, p.baseline_pct, min(ctx, len(x)) | 1)
    else:
        base = np.zeros_like(x)
    change = np.clip(x - base, 0.0, None)
    sm = _window(p.smooth_s, dt)
    if sm > 1:
        change = uniform_filter1d(change, sm, axis=0, mode="nearest")
    return change.max(axis=1), change


#: regions whose landmarks blinks and gaze move: left to the AU45 blink logic
EYE_REGIONS = ("eye_left", "eye_right")


def calm_track(positions: np.ndarray, t: np.ndarray, calm: np.ndarray,
               hold_s: float) -> np.ndarray:
    """``positions`` with each row that shows an action unit replaced by the last calm row's,
    for at most ``hold_s`` seconds (a longer expression is what the face holds): the face
    the rolling baseline of :func:`deformation_signal` is taken from, so that an expression
    taking up half of the baseline's window (a 2 s macro-expression in a 6 s clip) is not
    its own baseline. Causal."""
    out = positions.copy()
    last = -1
    for i in range(len(t)):
        if calm[i]:
            last = i
        elif last >= 0 and t[i] - t[last] <= hold_s:
            out[i] = out[last]
    return out


def deformation_signal(positions: np.ndarray, t: np.ndarray, p: SpotParams,
                       cut: tuple[bool, bool] = (False, False),
                       calm: np.ndarray | None = None) -> np.ndarray:
    """Per-frame deformation from region landmark positions (N, R, 2) in the head frame.

    Each region's distance from its own rolling median over ``context_s`` (what the face
    holds), divided by that region's typical distance (its noise), so every region speaks in
    multiples of its noise; the signal is the largest over non-eye regions, lightly smoothed.
    The median's window is extended past the ends with copies of the first and last rows
    (shrunk to the rows there are when they are fewer), or ``cut`` at that end (start, end):
    live, the last rows are the newest (:attr:`SpotParams.causal`).
    """
    from tells.spotting.regions import REGIONS

    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30
    n, r = positions.shape[:2]
    size = _window(p.context_s, dt) | 1 if cut[0] else min(_window(p.context_s, dt), n) | 1
    track = positions if calm is None else calm_track(positions, t, calm, p.macro_max_s)
    base = rolling_percentile(track.reshape(n, r * 2), 50, size, cut).reshape(n, r, 2)
    dev = np.linalg.norm(positions - base, axis=2)
    quiet = dev if calm is None or calm.sum() < MIN_CALM_ROWS else dev[calm]
    noise = np.median(quiet, axis=0) + 1e-4
    z = dev / noise
    keep = [i for i, r in enumerate(REGIONS) if r not in EYE_REGIONS]
    sig = z[:, keep].max(axis=1)
    sm = _window(p.smooth_s, dt)
    return uniform_filter1d(sig, sm, mode="nearest") if sm > 1 else sig


def _segments(t: np.ndarray, gap: float) -> list[slice]:
    breaks = np.flatnonzero(np.diff(t) > gap) + 1
    edges = np.concatenate([[0], breaks, [len(t)]])
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _walk_out(edges: np.ndarray, k: int, step: int, lo: float, peak: float) -> int:
    """From row ``k``, step by ``step`` (−1 back, +1 on) while ``edges`` stays above ``lo`` and
    keeps falling (rising by no more than 0.05 × ``peak`` a row); the row reached."""
    n = len(edges)
    while (0 <= k + step < n and edges[k + step] > lo
           and edges[k + step] <= edges[k] + 0.05 * peak):
        k += step
    return k


def find_candidates(signal: np.ndarray, p: SpotParams, threshold: float | None = None,
                    floor: float = 0.0, edges: np.ndarray | None = None
                    ) -> list[tuple[int, int, int, float]]:
    """(onset, apex, offset, peak) of runs above threshold/2 whose peak reaches threshold;
    onset and offset where the excess over ``floor`` of ``edges`` (a smoother copy of the
    signal, default the signal itself) falls to ``edge`` of the peak's, walking out from the
    apex while it keeps falling and at least to the ends of the run (a slow expression whose
    change dips and rises again inside its run is one candidate, not its first hump)."""
    edges = signal if edges is None else edges
    thr = p.threshold if threshold is None else threshold
    above = signal >= floor + (thr - floor) / 2
    out = []
    i, n = 0, len(signal)
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j < n and above[j]:
            j += 1
        run = signal[i:j]
        apex = i + int(np.argmax(run))
        peak = float(signal[apex])
        if peak >= thr:
            # walk out from the apex while the change is above edge × peak and still falling
            lo = floor + p.edge * (peak - floor)
            w0, w1 = max(0, apex - 3), min(n, apex + 4)  # start from the smooth copy's peak
            start = w0 + int(np.argmax(edges[w0:w1]))
            on = _walk_out(edges, start, -1, lo, peak)
            # the candidate is its run: a rise inside the run (where the change is still at
            # half the threshold or more) does not end it, only one past its ends does
            if on > i:
                on = _walk_out(edges, i, -1, lo, peak)
            off = _walk_out(edges, start, 1, lo, peak)
            if off < j - 1:
                off = _walk_out(edges, j - 1, 1, lo, peak)
            # the smooth copy spreads an abrupt change by a few frames: trim each end to where
            # the signal itself is above the edge level (gradual changes barely move)
            while on < apex and signal[on] <= lo:
                on += 1
            while off > apex and signal[off] <= lo:
                off -= 1
            out.append((min(on, apex), apex, max(off, apex), peak))
        i = j
    # merge overlaps (a run split by a dip may give the same edges twice)
    merged: list[tuple[int, int, int, float]] = []
    for c in sorted(out):
        if merged and c[0] <= merged[-1][2]:
            m = merged[-1]
            best = m if m[3] >= c[3] else c
            merged[-1] = (min(m[0], c[0]), best[1], max(m[2], c[2]), best[3])
        else:
            merged.append(c)
    return merged


def _core(edges: np.ndarray, ts: np.ndarray, dt: float, thr: float, longest: float,
          cand: tuple[int, int, int, float]) -> tuple[int, int, int, float]:
    """A candidate longer than ``longest`` seconds, cut down to its core: the rows around its
    apex where ``edges`` (the smooth signal) stays at the detection threshold ``thr`` or
    above, each end then walked out while the signal still falls (to the foot of the rise:
    an abrupt onset is already past the threshold in its second frame); the candidate as it
    was when the core is longer too (a held expression). The half-threshold run a candidate
    is found in also takes in the chatter of a talking face around an expression (OpenFace's
    default.wmv: a 3 s smile at the end of talking read 4.06 s and was left out as held)."""
    on, apex, off, peak = cand
    if ts[off] - ts[on] + dt <= longest:
        return cand
    a = b = apex
    while a > on and edges[a - 1] >= thr:
        a -= 1
    while b < off and edges[b + 1] >= thr:
        b += 1
    while a > on and edges[a - 1] < edges[a]:
        a -= 1
    while b < off and edges[b + 1] < edges[b]:
        b += 1
    if ts[b] - ts[a] + dt > longest:
        return cand
    return a, apex, b, peak


def mouth_cycles(opening: np.ndarray, depth: float) -> int:
    """How many times the mouth opened and closed again by at least ``depth`` (hysteresis
    count of rises followed by falls) — talking is rhythmic, an expression opens once."""
    if len(opening) < 3:
        return 0
    cycles, state, ref = 0, "low", float(opening[0])
    for v in opening[1:]:
        v = float(v)
        if state == "low":
            if v >= ref + depth:
                state, ref = "high", v
            else:
                ref = min(ref, v)
        else:
            if v <= ref - depth:
                state, ref = "low", v
                cycles += 1
            else:
                ref = max(ref, v)
    return cycles


def _letter(v: float) -> str:
    return "ABCDE"[int(np.clip(np.floor(v + 0.5), 1, 5)) - 1]


#: frames an event's level before its onset and at its apex is read over (the median): the
#: per-frame intensities of a real face jitter by a step or more from one frame to the next
#: where skin motion is read under a hand or a crying mouth (WolfgangLanger_Pexels.mp4's chin
#: raiser 0 -> 5 -> 0 on consecutive frames), and one frame's jitter is not a change
LEVEL_FRAMES = 3


def _before_onset(on: int, n: int) -> slice:
    """The ``n`` rows just before the onset row ``on`` (the onset's own row when it is the
    first): what an event's change is read against."""
    return slice(max(0, on - n), max(on, 1))


def _change(x: np.ndarray, before: slice, apex: slice) -> float:
    """The median of ``x`` over the ``apex`` rows less its median over the ``before`` rows."""
    return float(np.median(x[apex]) - np.median(x[before]))


def au_code(delta: dict[str, float], left_right: dict[int, tuple[float, float]],
            active: float) -> str:
    """FACS string like ``R12A+R14A`` or ``1B+2B+5C+26B`` from AU changes (apex − onset)."""
    parts = []
    for n in AU_NUMBERS:
        v = delta.get(f"AU{n:02d}", 0.0)
        if n in left_right:
            lv, rv = left_right[n]
            big = max(lv, rv)
            if big >= active and min(lv, rv) < 0.5 * big:
                side = "L" if lv > rv else "R"
                parts.append(f"{side}{n}{_letter(big)}")
                continue
        if v >= active:
            parts.append(f"{n}{_letter(v)}")
    return "+".join(parts)


def spot_face(face: pd.DataFrame, positions: np.ndarray | None, p: SpotParams,
              face_id: int, light: np.ndarray | None = None
              ) -> tuple[list[Candidate], np.ndarray]:
    """Candidates (kept and dropped, with reasons) for one face's rows sorted by time.

    ``positions`` (rows × regions × 2, head-frame landmark means per region, aligned with
    ``face``'s rows) drive detection when given (:func:`deformation_signal`); otherwise the
    action-unit signal does (:func:`expression_signal`). ``light`` (rows × 2, the skin light
    of the face's two sides, :func:`tells.spotting.stage.skin_light`) lets lighting changes
    be told from expressions (:func:`light_changed`).
    """
    t = face["timestamp"].to_numpy()
    cands: list[Candidate] = []
    thr = p.peak_threshold(positions is not None)
    segments = _segments(t, p.gap_s)
    for k, seg in enumerate(segments):
        rows = face.iloc[seg]
        if len(rows) < 3:
            continue
        ts = rows["timestamp"].to_numpy()
        dt = float(np.median(np.diff(ts)))
        au = {n: rows[f"AU{n:02d}_r"].to_numpy(dtype=float) for n in AU_NUMBERS}
        if positions is not None:
            # live: the last segment ends now, the first begins the track when it is young
            cut = (p.causal and p.causal_start and k == 0, p.causal and k == len(segments) - 1)
            calm = None
            if not p.causal and ts[-1] - ts[0] < p.context_s:
                # a clip not much longer than an expression: the expression can take up half
                # of the baseline's window, which then holds it (see calm_track)
                calm = np.column_stack([au[n] for n in EXPRESSIVE_AUS]).max(axis=1) < CALM_AU
                if calm.mean() > 1.0 - EXPRESSIVE_SHARE:
                    calm = None
            signal = deformation_signal(positions[seg], ts, p, cut, calm)
            smooth = uniform_filter1d(signal, _window(p.edge_smooth_s, dt), mode="nearest")
            found = find_candidates(signal, p, threshold=p.deform_threshold, floor=1.0,
                                    edges=smooth)
        else:
            signal, _ = expression_signal(rows, p)
            smooth = signal
            found = find_candidates(signal, p)
        found = [_core(smooth, ts, dt, thr, p.macro_max_s, c) for c in found]
        pose = columns(rows, ["pose_Rx", "pose_Ry", "pose_Rz"], float)
        uni = {n: (rows[f"AU{n}L_r"].to_numpy(dtype=float), rows[f"AU{n}R_r"].to_numpy(dtype=float))
               for n in (12, 14)}
        speech = au[25] + au[26]
        talk_w = _window(p.talk_window_s, dt)
        poor = None  # rows flagged for pose, blur or a partly visible face (read once)
        for on, apex, off, peak in found:
            c = Candidate(face_id, seg.start + on, seg.start + apex, seg.start + off, peak)
            dur = ts[off] - ts[on] + dt
            # the change from just before the onset (an abrupt onset's own frame already
            # shows it) to the apex, each the median over LEVEL_FRAMES frames
            spans = (_before_onset(on, LEVEL_FRAMES),
                     slice(max(on, apex - LEVEL_FRAMES // 2),
                           min(off, apex + LEVEL_FRAMES // 2) + 1))
            delta = {f"AU{n:02d}": _change(au[n], *spans) for n in AU_NUMBERS}
            lr = {n: (_change(uni[n][0], *spans), _change(uni[n][1], *spans)) for n in (12, 14)}
            c.aus = {**delta, **{f"AU{n}L": v[0] for n, v in lr.items()},
                     **{f"AU{n}R": v[1] for n, v in lr.items()}}
            active = {n for n in AU_NUMBERS if delta[f"AU{n:02d}"] >= p.active}
            active |= {n for n, v in lr.items() if max(v) >= p.active}
            expressive = active - {25, 26, 43, 45}
            # a blink closes the lids: widened eyes (AU5 without closure) or an opened mouth
            # (a surprise) are not one
            opened = bool(active & {25, 26})
            widened = 5 in active and not active & {43, 45} and au[45][apex] < 1.0
            # the lids took part: a unit of theirs active, or closing by a trace at least
            # (a face change too weak for any unit to reach ``active`` is no blink unless
            # the lids moved)
            lids = bool(active & EYELID_AUS) or au[45][apex] >= 1.0 or max(
                delta["AU43"], delta["AU45"]) >= p.lid_trace
            # a weak expression: the landmarks moved past the threshold, no unit reached
            # ``active`` but an expressive one rose by a trace (the mesh settling after a cut
            # or at a track's start moves no unit at all)
            weak = positions is not None and not opened and max(
                [delta[f"AU{n:02d}"] for n in EXPRESSIVE_AUS] + [max(v) for v in lr.values()]
            ) >= p.trace
            seg_pose = pose[on:off + 1]
            turn = np.abs(seg_pose.max(0) - seg_pose.min(0)).max()
            k = min(_window(0.2, dt), max(1, off - on))  # speed over 0.2 s: pose jitter cancels
            speed = (np.abs(seg_pose[k:] - seg_pose[:-k]).max() / (k * dt)
                     if off - on >= k else 0.0)
            talking = (mouth_cycles(speech[max(0, on - talk_w):on], p.talk_depth)
                       + mouth_cycles(speech[off + 1:off + 1 + talk_w], p.talk_depth)
                       ) >= p.talk_cycles
            asym = any(max(v) >= p.active and min(v) < 0.5 * max(v) for v in lr.values())
            if poor is None:
                poor = columns(rows, ["q_pose", "q_blur", "q_partial"]).any(1)
            bad = poor[on:off + 1]
            if ts[apex] - ts[0] < p.track_start_s:
                c.reason = "at the start of the face's track (onset not seen)"
            elif dur > p.macro_max_s:
                c.reason = "too long (held expression)"
            elif dur < p.min_s:
                c.reason = "too short (tracking noise)"
            elif (expressive <= EYELID_AUS and not opened and not widened and lids
                  and (au[45][apex] >= 1.0 or dur <= p.blink_max_s)):
                c.reason = "blink"
            elif (turn > p.head_turn_rad or speed > p.head_speed_rad_s) and not (
                    peak >= p.head_override * thr and turn <= p.head_override_rad):
                c.reason = "head movement"
            elif light is not None and light_changed(light[seg], on, apex,
                                                     _window(0.1, dt), p):
                c.reason = "lighting change"
            elif talking and expressive <= MOUTH_AUS and not asym:
                c.reason = "speech"
            elif bad.mean() > 0.5:
                c.reason = "poor tracking quality"
            elif not expressive and not weak and not (
                    opened and peak >= p.mouth_only_factor * thr):
                c.reason = "no expressive action unit"
            cands.append(c)
    return cands, t


def light_changed(light: np.ndarray, on: int, apex: int, before: int, p: SpotParams) -> bool:
    """Whether the skin light of a face's two sides (rows × 2, one segment's) changed from the
    ``before`` rows before the onset ``on`` (its own row when it is the first) to any row up
    to the ``apex`` by more than ``p.light_change`` (both sides together) or ``p.light_side``
    (one against the other), in log units. Rows without a crop (zeros) are not read."""
    ref = light[_before_onset(on, before)]
    now = light[on:apex + 1]
    ref, now = ref[(ref > 0).all(1)], now[(now > 0).all(1)]
    if not len(ref) or not len(now):
        return False
    r = np.median(ref, axis=0)
    whole = np.abs(np.log(now.mean(1) / r.mean())).max()
    side = np.abs(np.log(now[:, 0] / now[:, 1]) - np.log(r[0] / r[1])).max()
    return bool(whole >= p.light_change or side >= p.light_side)


def blink_count(face: pd.DataFrame) -> int:
    """Blinks: runs of AU45 presence between 50 and 500 ms."""
    c = face["AU45_c"].to_numpy() > 0 if "AU45_c" in face else np.zeros(len(face), bool)
    t = face["timestamp"].to_numpy()
    n, i = 0, 0
    while i < len(c):
        if c[i]:
            j = i
            while j < len(c) and c[j]:
                j += 1
            if 0.05 <= t[j - 1] - t[i] + 1 / 30 <= 0.5:
                n += 1
            i = j
        else:
            i += 1
    return n

"""The frames behind a disagreement with another coder (``tells eval agreement --show``).

A correlation says how often two coders disagree, not who is right. For each action unit this
picks the frames where tells reads the unit highest above the other coder and where the other
coder reads it highest above tells, plus the frame both read lowest (the face at rest, to
compare against), and draws them as one contact sheet per unit (the face cut from the video
by tells' box, each tile captioned with both readings) so that a person can look and judge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tells.errors import InputError

#: a frame counts as a disagreement only when the two readings differ by at least this much
#: (one step on the 0..5 scale: A trace against nothing, or B against A, ...)
MIN_DIFFERENCE = 1.0
#: frames picked for one side of a disagreement lie at least this far apart (s), so a sheet
#: shows different moments rather than one moment's neighbouring frames
MIN_GAP_S = 0.5
TILE = 168


def pick_frames(m: pd.DataFrame, au: str, per_side: int = 5,
                min_difference: float = MIN_DIFFERENCE, min_gap_s: float = MIN_GAP_S) -> dict:
    """The frames of one unit's sheet from the matched table ``m`` (columns ``frame``,
    ``timestamp``, ``AUxx_r_t`` tells, ``AUxx_r_of`` the other coder).

    Returns ``{"rest": [row], "tells_higher": [rows], "openface_higher": [rows]}``, each row
    a dict with ``frame``, ``timestamp``, ``tells``, ``openface``; the two disagreement lists
    hold at most ``per_side`` frames, largest difference first, at least ``min_gap_s`` apart,
    each differing by at least ``min_difference``.
    """
    t = pd.to_numeric(m[f"{au}_r_t"], errors="coerce").to_numpy(float)
    o = pd.to_numeric(m[f"{au}_r_of"], errors="coerce").to_numpy(float)
    ok = np.isfinite(t) & np.isfinite(o)
    frames = m["frame"].to_numpy()
    times = pd.to_numeric(m["timestamp"], errors="coerce").to_numpy(float)

    def row(i: int) -> dict:
        return {"frame": int(frames[i]), "timestamp": float(times[i]),
                "tells": float(t[i]), "openface": float(o[i])}

    def side(diff: np.ndarray) -> list[dict]:
        chosen: list[int] = []
        for i in np.argsort(-diff, kind="stable"):
            if not ok[i] or diff[i] < min_difference or len(chosen) >= per_side:
                break
            if all(abs(times[i] - times[j]) >= min_gap_s for j in chosen):
                chosen.append(int(i))
        return [row(i) for i in chosen]

    rest = []
    if ok.any():
        both = np.where(ok, t + o, np.inf)
        rest = [row(int(np.argmin(both)))]
    return {"rest": rest, "tells_higher": side(np.where(ok, t - o, -np.inf)),
            "openface_higher": side(np.where(ok, o - t, -np.inf))}


def _face(image: np.ndarray, box: tuple[float, float, float, float], scale: float) -> np.ndarray:
    """The face around tells' box (source pixels; the image is at ``1/scale`` of them), with a
    margin, as a square tile."""
    import cv2

    x, y, w, h = (v / scale for v in box)
    side = 1.3 * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    n = max(int(round(side)), 1)
    pad = np.zeros((n, n, 3), np.uint8)
    ih, iw = image.shape[:2]
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + n, iw), min(y0 + n, ih)
    if sx1 > sx0 and sy1 > sy0:
        pad[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return cv2.resize(pad, (TILE, TILE), interpolation=cv2.INTER_AREA)


def _caption(tile: np.ndarray, lines: list[str]) -> np.ndarray:
    import cv2

    bar = np.full((18 * len(lines) + 6, tile.shape[1], 3), 255, np.uint8)
    for k, text in enumerate(lines):
        cv2.putText(bar, text, (4, 16 + 18 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return np.vstack([tile, bar])


def _strip(label: str, tiles: list[np.ndarray], width: int) -> np.ndarray:
    import cv2

    head = np.full((24, width, 3), 235, np.uint8)
    cv2.putText(head, label, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    if not tiles:
        body = np.full((40, width, 3), 255, np.uint8)
        cv2.putText(body, "none", (6, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (90, 90, 90), 1,
                    cv2.LINE_AA)
    else:
        body = np.hstack(tiles)
        body = np.hstack([body, np.full((body.shape[0], width - body.shape[1], 3), 255,
                                        np.uint8)])
    return np.vstack([head, body])


def _how(au: str) -> str:
    """tells' one-line measurement of a unit (the right side's for the one-sided ones)."""
    from tells.facs.aus import AU_TABLE, RATIO_AUS

    if au in RATIO_AUS:
        return RATIO_AUS[au][3]
    spec = AU_TABLE.get(au) or AU_TABLE.get(f"{au}R")
    return "" if spec is None else spec.how.replace(" (right)", "")


def face_boxes(m: pd.DataFrame) -> dict[int, tuple[float, float, float, float]]:
    """``{frame: (x, y, width, height)}`` of the face from the matched table ``m``."""
    return {int(f): (float(x), float(y), float(w), float(h)) for f, x, y, w, h in
            m[["frame", "x", "y", "width", "height"]].itertuples(index=False)}


def write_sheets(video: str | Path, m: pd.DataFrame, picks: dict[str, dict], out_dir: str | Path,
                 other: str = "OpenFace") -> list[Path]:
    """Decode ``video`` once and write ``<out_dir>/<AU>.png`` for every unit of ``picks``
    (:func:`pick_frames`); ``m`` holds tells' ``x``, ``y``, ``width``, ``height`` per frame.
    Returns the files written."""
    import cv2

    from tells.io.video import open_video
    from tells.trainer.images import write_png

    wanted = {r["frame"] for p in picks.values() for rows in p.values() for r in rows}
    boxes = face_boxes(m)
    faces: dict[int, np.ndarray] = {}
    with open_video(video) as source:
        for frame in source:
            if frame.index in wanted and frame.index in boxes:
                faces[frame.index] = _face(frame.image, boxes[frame.index], frame.scale)
            if len(faces) == len(wanted):
                break
    missing = wanted - set(faces)
    if missing:
        raise InputError(f"{video}: frames {min(missing)}..{max(missing)} of the table are not "
                         "in this video (is it the video the tables were made from?)")
    width = TILE * max([1] + [len(rows) for p in picks.values() for rows in p.values()])
    written = []
    for au, p in picks.items():
        title = np.full((30, width, 3), 255, np.uint8)
        cv2.putText(title, f"{au} {_how(au)}"[:int(width / 7.5)], (6, 21), cv2.FONT_HERSHEY_SIMPLEX,
                    0.55, (0, 0, 0), 1, cv2.LINE_AA)
        parts = [title]
        for key, label in (("rest", "both read it lowest (rest)"),
                           ("tells_higher", f"tells reads it higher than {other}"),
                           ("openface_higher", f"{other} reads it higher than tells")):
            tiles = [_caption(faces[r["frame"]], [f"frame {r['frame']}  {r['timestamp']:.2f} s",
                                                  f"tells {r['tells']:.1f}  {other} "
                                                  f"{r['openface']:.1f}"])
                     for r in p[key]]
            parts.append(_strip(label, tiles, width))
        path = Path(out_dir) / f"{au}.png"
        write_png(path, np.vstack(parts))
        written.append(path)
    return written

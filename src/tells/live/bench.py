"""``tells bench live``: the live path on a video with injected expressions, played in real
time at 640×480 and 30 fps, with one face and with four (a 2×2 grid of the same footage, each
cell shifted in time so the expressions fall at different moments).

Reported per run: frames captured, analysed and dropped at the source; frame-to-row latency
(capture of a frame to its rows) p50/p95; alert latency p50/p95 after each injected event's
true offset (the decision delay included) and after the offset the spotter placed, and where
that time goes (:data:`BREAKDOWN`); CPU;
and how many of the offline events (``tells analyze`` on the same file) live analysis found
with the same emotion — in the real-time run (with its drops) and replayed over the offline
rows with nothing dropped (:func:`tells.live.spotter.replay`).
"""

from __future__ import annotations

import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from tells.config import Settings
from tells.live.sources import DEFAULT_QUEUE
from tells.live.spotter import DEFAULT_DELAY_S

SIZE = (640, 480)
FPS = 30


def conform(src: Path, dst: Path, size=SIZE, fps: int = FPS, cells: int = 1,
            shift_s: float = 0.0) -> Path:
    """Write ``src`` letterboxed to ``size`` at ``fps`` (each output frame shows the latest
    source frame due by its time). With ``cells=4`` the frame is a 2×2 grid; cell *k* shows
    the video ``k × shift_s`` later (wrapping around)."""
    import av

    from tells.io.video import open_video

    with open_video(src) as v:
        frames = [(f.t, f.image) for f in v]
    times = np.array([t for t, _ in frames])
    length = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1 / fps)
    per_row = 2 if cells == 4 else 1
    cw, ch = size[0] // per_row, size[1] // per_row

    def fit(img):
        h, w = img.shape[:2]
        s = min(cw / w, ch / h)
        small = cv2.resize(img, (round(w * s) // 2 * 2, round(h * s) // 2 * 2),
                           interpolation=cv2.INTER_AREA)
        canvas = np.zeros((ch, cw, 3), np.uint8)
        y0, x0 = (ch - small.shape[0]) // 2, (cw - small.shape[1]) // 2
        canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        return canvas

    n_out = int(length * fps)
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for k in range(n_out):
            img = np.zeros((size[1], size[0], 3), np.uint8)
            for c in range(cells):
                t = (k / fps + c * shift_s) % length
                i = max(0, int(np.searchsorted(times, t + 1e-6)) - 1)
                r, q = divmod(c, per_row)
                img[r * ch:(r + 1) * ch, q * cw:(q + 1) * cw] = fit(frames[i][1])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def _shifted_truth(truth: pd.DataFrame, cells: int, shift_s: float, length: float) -> pd.DataFrame:
    """Truth of each grid cell (``cell`` column): event times minus the cell's shift."""
    rows = []
    for c in range(cells):
        for r in truth.to_dict(orient="records"):
            on, off = r["onset_t"] - c * shift_s, r["offset_t"] - c * shift_s
            if on < 0:
                on, off = on + length, off + length
            if 0 <= on and off < length:
                rows.append({**r, "cell": c, "onset_t": on, "offset_t": off,
                             "apex_t": r["apex_t"] - r["onset_t"] + on})
    return pd.DataFrame(rows)


def _cell_of(frames: pd.DataFrame, cells: int) -> dict[int, int]:
    """Grid cell of each face id (from where its box is, on average)."""
    if cells == 1:
        return {int(f): 0 for f in frames.loc[frames["success"] == 1, "face_id"].unique()}
    ok = frames[frames["success"] == 1]
    out = {}
    for fid, g in ok.groupby("face_id"):
        cx = (g["x"] + g["width"] / 2).median()
        cy = (g["y"] + g["height"] / 2).median()
        out[int(fid)] = int(cy >= SIZE[1] / 2) * 2 + int(cx >= SIZE[0] / 2)
    return out


def _match(a: pd.DataFrame, b: pd.DataFrame, same_emotion: bool = True,
           min_iou: float = 0.5) -> list[tuple[int, int]]:
    """Greedy one-to-one matches (index in a, index in b) by face, emotion and IoU."""
    pairs, used = [], set()
    for i, x in a.iterrows():
        best, best_iou = None, min_iou
        for j, y in b.iterrows():
            if j in used or x["face_id"] != y["face_id"]:
                continue
            if same_emotion and x["emotion"] != y["emotion"]:
                continue
            inter = max(0.0, min(x["offset_t"], y["offset_t"]) - max(x["onset_t"], y["onset_t"]))
            union = max(x["offset_t"], y["offset_t"]) - min(x["onset_t"], y["onset_t"])
            iou = inter / union if union > 0 else 0.0
            if iou >= best_iou:
                best, best_iou = j, iou
        if best is not None:
            used.add(best)
            pairs.append((i, best))
    return pairs


def _pct(values, scale: float = 1000.0) -> dict:
    v = np.asarray(values, float) * scale
    if not len(v):
        return {"p50": None, "p95": None, "n": 0}
    return {"p50": round(float(np.percentile(v, 50)), 1),
            "p95": round(float(np.percentile(v, 95)), 1), "n": int(len(v))}


#: where the time from an injected event's true offset to its alert goes (seconds; they add up)
BREAKDOWN = {
    "placed": "the offset the spotter placed, after the true one",
    "delay": "the decision delay",
    "late": "the frame the event was decided at, after placed offset + delay",
    "rows": "that frame shown until its rows reached the spotter",
    "wait": "until the spotter's detection started (busy or short of CPU)",
    "detect": "the detection",
    "deliver": "until the analysis thread alerted it",
}


def _breakdown(ev, true_offset: float, delay_s: float, clock: float) -> dict[str, float]:
    """:data:`BREAKDOWN` of one alert (``clock``: wall time minus media time of the paced
    file)."""
    placed, x = float(ev.record["offset_t"]), ev.extra
    shown = clock + ev.decided_t
    out = {"placed": placed - true_offset, "delay": delay_s,
           "late": ev.decided_t - placed - delay_s}
    if {"sent", "started", "spotted"} <= x.keys():
        out.update(rows=x["sent"] - shown, wait=x["started"] - x["sent"],
                   detect=x["spotted"] - x["started"], deliver=ev.wall - x["spotted"])
    return out


def run_once(video: Path, truth: pd.DataFrame, cells: int, delay_s: float, say,
             queue_size: int = DEFAULT_QUEUE) -> dict:
    """Offline analysis, online replay and one real-time live run of ``video``."""
    import tells
    from tells.api import default_stages
    from tells.emotion.stage import EmotionStage
    from tells.live.session import LiveSession
    from tells.live.sources import open_capture
    from tells.live.spotter import replay
    from tells.spotting.stage import MotionStage

    settings = Settings()
    say(f"  offline analysis of {video.name} …")
    stages = default_stages(settings)
    offline = tells.analyze_video(video, stages=stages, settings=settings)
    motion = next(s for s in stages if isinstance(s, MotionStage))
    looks = next(s for s in stages if isinstance(s, EmotionStage))
    offline_events = offline.events.reset_index(drop=True)
    replayed = replay(offline.frames, motion.series, looks.appearance, delay_s=delay_s)
    say(f"  live run of {video.name} in real time …")
    capture = open_capture("file", str(video), realtime=True, max_side=settings.max_side,
                           queue_size=queue_size)
    session = LiveSession(capture, settings, delay_s=delay_s)
    result = session.run()
    live_events = result.events
    live = result.run["live"]
    # alert latency: wall time of the decision after the wall time the true offset was shown
    cell_of = _cell_of(result.frames, cells)
    t0, origin = capture.started_at, capture.origin_t
    after_true, after_placed = [], []
    parts: dict[str, list] = {k: [] for k in BREAKDOWN}
    found_truth = 0
    for tr in truth.to_dict(orient="records"):
        cands = [ev for ev in result.live_events
                 if cell_of.get(int(ev.record["face_id"])) == tr["cell"]
                 and ev.record["onset_t"] <= tr["offset_t"] + 0.1
                 and ev.record["offset_t"] >= tr["onset_t"] - 0.1]
        if not cands:
            continue
        found_truth += 1
        ev = min(cands, key=lambda e: abs(e.record["offset_t"] - tr["offset_t"]))
        after_true.append(ev.wall - (t0 + tr["offset_t"] - origin))
        for k, v in _breakdown(ev, tr["offset_t"], delay_s, t0 - origin).items():
            parts[k].append(v)
    for ev in result.live_events:
        after_placed.append(ev.wall - (t0 + float(ev.record["offset_t"]) - origin) - delay_s)
    same = len(_match(offline_events, live_events))
    same_replay = len(_match(offline_events, replayed))
    return {
        "video": str(video), "faces": cells, "seconds": round(result.run["timings"]["seconds"], 1),
        "captured_frames": live["captured_frames"], "analysed_frames": result.run["frames"],
        "dropped_frames": live["dropped_frames"], "drop_rate": live["drop_rate"],
        "frame_to_row_ms": _pct(result.latencies),
        "alert_after_true_offset_ms": _pct(after_true),
        "alert_after_placed_offset_beyond_delay_ms": _pct(after_placed),
        "alert_breakdown_ms": {k: _pct(v) for k, v in parts.items()},
        "cpu_percent_of_one_core": live["cpu_percent_of_one_core"],
        "spotter_cpu_percent_of_one_core": live.get("spotter_cpu_percent_of_one_core"),
        "cpu_ms_per_frame": live.get("cpu_ms_per_frame"),
        "injected": len(truth), "injected_alerted": found_truth,
        "offline_events": len(offline_events), "live_events": len(live_events),
        "live_same_as_offline": same,
        "live_share_of_offline": round(same / len(offline_events), 3) if len(offline_events)
        else None,
        "replay_events": len(replayed), "replay_same_as_offline": same_replay,
        "replay_share_of_offline": round(same_replay / len(offline_events), 3)
        if len(offline_events) else None,
        "offline_fps": offline.run["timings"]["fps"],
    }


def bench_live(video: str | Path | None = None, seconds: float = 20.0, seed: int = 0,
               rate_per_min: float = 12.0, delay_s: float = DEFAULT_DELAY_S,
               four: bool = True, work_dir: str | Path | None = None,
               say=lambda m: None, queue_size: int = DEFAULT_QUEUE) -> dict:
    """Run the benchmark; returns a JSON-able dict (see the module docstring)."""
    import os

    from tells.io.samples import sample_path
    from tells.spotting.synth import synth_video

    started = time.perf_counter()
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="tells-bench-live-")
        work = Path(tmp.name)
    else:
        work = Path(work_dir)
        work.mkdir(parents=True, exist_ok=True)
    try:
        base = Path(video) if video else sample_path("single_face.mp4")
        segment = None if video else (0.0, 0.5)
        say(f"conforming {base.name} to {SIZE[0]}×{SIZE[1]} at {FPS} fps …")
        base640 = conform(base, work / "base640.mp4")
        say(f"injecting expressions ({seconds:g} s, seed {seed}) …")
        one = work / "one_face.mp4"
        truth = synth_video(base640, one, work / "truth.csv", seed=seed,
                            rate_per_min=rate_per_min, duration_s=seconds, segment=segment)
        truth = truth.assign(cell=0)
        runs = {"one_face": run_once(one, truth, 1, delay_s, say, queue_size)}
        if four:
            shift = seconds / 4 + 0.37
            grid = conform(one, work / "four_faces.mp4", cells=4, shift_s=shift)
            runs["four_faces"] = run_once(grid, _shifted_truth(truth, 4, shift, seconds), 4,
                                          delay_s, say, queue_size)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return {"size": f"{SIZE[0]}x{SIZE[1]}", "fps": FPS, "seconds": seconds, "seed": seed,
            "base": str(base), "decision_delay_s": delay_s, "queue": queue_size, "runs": runs,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(), "took_s": round(time.perf_counter() - started, 1)}

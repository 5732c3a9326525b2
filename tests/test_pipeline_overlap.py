"""The pipelined run (decode ahead, meshes and the whole-frame detection beside the stages,
the emotion CNN on a worker thread) gives exactly the rows of the plain one."""

from __future__ import annotations

import numpy as np

from tells.api import default_stages
from tells.config import Settings
from tells.facs.stage import AUStage
from tells.io.frames import Frame
from tells.pipeline import run


def _table(frames, overlap: bool):
    settings = Settings(overlap=overlap)
    stages = default_stages(settings)
    table, stats = run(iter(frames), settings, stages)
    return table.to_frame(), stats, stages


def test_overlapped_run_gives_the_rows_of_the_plain_run(wolfgang_frames):
    frames = [Frame(i, i * 1001 / 24000, img) for i, img in enumerate(wolfgang_frames[:72])]
    plain, plain_stats, plain_stages = _table(frames, overlap=False)
    fast, fast_stats, fast_stages = _table(frames, overlap=True)
    assert list(plain.columns) == list(fast.columns)
    assert np.array_equal(plain.to_numpy(float), fast.to_numpy(float), equal_nan=True)
    assert plain_stats.detections == fast_stats.detections >= 2


def test_au_stages_on_two_threads_at_once_give_what_each_gives_alone(wolfgang_frames):
    """Each AU stage computes its skin-motion flow with its own flow object on the calling
    thread: two stages run at once on two threads give the rows each gives alone."""
    from concurrent.futures import ThreadPoolExecutor

    from tells.face.track import FaceTracker, observe

    settings = Settings(overlap=False)
    frames = [Frame(i, i * 1001 / 24000, img) for i, img in enumerate(wolfgang_frames[:40])]
    tracker = FaceTracker(settings)
    obs = []
    for f in frames:
        for fid, lm, conf in tracker.update(f.image, f.t):
            obs.append(observe(fid, f.index, f.t, f.image, lm, conf, settings))
    tracker.close()
    alone = AUStage()
    want = [alone(o) for o in obs]
    assert alone._dis is not None  # the flow was computed (a neutral crop was there)

    def rows(order):
        st = AUStage()
        return [st(o) for o in order]

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(rows, obs), pool.submit(rows, obs)
        assert a.result() == want and b.result() == want


def test_detection_started_beside_the_meshes_finds_what_a_plain_one_does(tmp_path):
    """submit(image, t) starts the whole-frame detection early; the ids, landmarks and the
    number of detections are those of a tracker that runs it itself (submit without t)."""
    from tells.face.track import FaceTracker
    from tells.io.image import read_image
    from tells.io.samples import sample_path

    img = read_image(sample_path("multi_face.jpg"))[:666, :1000]
    frames = [np.roll(img, shift=3 * i, axis=1) for i in range(24)]
    runs = []
    for ahead in (True, False):
        tracker = FaceTracker(Settings(detect_interval_s=0.1, detect_interval_max_s=0.1))
        out = []
        for i, image in enumerate(frames):
            t = i / 30
            tracker.submit(image, t if ahead else None)
            out.append(tracker.collect(image, t))
        runs.append((out, tracker.detections_run))
        tracker.close()
    (a, na), (b, nb) = runs
    assert na == nb >= 6
    assert [[f for f, _, _ in faces] for faces in a] == [[f for f, _, _ in faces] for faces in b]
    assert len(a[-1]) == 5
    for fa, fb in zip(a, b, strict=True):
        for (_, la, ca), (_, lb, cb) in zip(fa, fb, strict=True):
            assert ca == cb and np.array_equal(la, lb)


def test_detections_planned_frames_ahead_find_what_a_plain_tracker_does():
    """plan(image, t) on frames two ahead starts whole-frame detections early on graphs of
    their own; ids, landmarks, confidences and the number of detections are those of a
    tracker that runs every detection itself, and most detections were started early."""
    from tells.face.track import FaceTracker
    from tells.io.image import read_image
    from tells.io.samples import sample_path

    img = read_image(sample_path("multi_face.jpg"))[:666, :1000]
    frames = [np.roll(img, shift=3 * i, axis=1) for i in range(24)]
    frames[10:13] = [np.zeros_like(img)] * 3  # everyone gone for three frames, then back
    runs = []
    for planned in (True, False):
        tracker = FaceTracker(Settings(detect_interval_s=0.1, detect_interval_max_s=0.2))
        started = []  # (frame planned for, frame being worked on)
        out = []
        for i, image in enumerate(frames):
            if planned and i + 2 < len(frames):
                before = len(tracker._early)
                tracker.plan(frames[i + 2], (i + 2) / 30)
                started += [(i + 2, i)] * (len(tracker._early) - before)
            tracker.submit(image, i / 30)
            out.append(tracker.collect(image, i / 30))
        runs.append((out, tracker.detections_run, started))
        tracker.close()
    (a, na, started), (b, nb, _) = runs
    assert na == nb >= 8
    assert len(started) >= 5  # whole-frame detections started two frames ahead
    assert [[f for f, _, _ in faces] for faces in a] == [[f for f, _, _ in faces] for faces in b]
    assert len(a[-1]) == 5 and a[11] == []
    for fa, fb in zip(a, b, strict=True):
        for (_, la, ca), (_, lb, cb) in zip(fa, fb, strict=True):
            assert ca == cb and np.array_equal(la, lb)


def _worker_run(frames):
    """The overlapped run, with the names of the threads the emotion stage's handed-over
    jobs ran on (a job taken back by the stage before the worker began it is not counted)."""
    import threading

    from tells.emotion.stage import EmotionStage

    settings = Settings(overlap=True)
    stages = default_stages(settings)
    emotion = next(st for st in stages if isinstance(st, EmotionStage))
    threads = []
    handed = emotion.prepare

    def prepare(obs, submit):
        def tracked(fn, *args):
            def job(*a):
                threads.append(threading.current_thread().name)
                return fn(*a)
            return submit(job, *args)
        return handed(obs, tracked)

    emotion.prepare = prepare
    table, _ = run(iter(frames), settings, stages)
    return table.to_frame(), threads


def test_several_faces_go_to_the_worker_and_give_the_rows_of_the_plain_run(wolfgang_frames):
    """With two faces or more in a frame the emotion CNN runs on the worker thread
    (``prepare``), with one face in the stage itself; the rows are the plain run's either
    way."""
    from tells.io.image import read_image
    from tells.io.samples import sample_path
    from tells.pipeline import PREPARE_FROM_FACES

    img = read_image(sample_path("multi_face.jpg"))[:666, :1000]
    several = [Frame(i, i / 30, np.roll(img, shift=2 * i, axis=1)) for i in range(16)]
    one = [Frame(i, i * 1001 / 24000, im) for i, im in enumerate(wolfgang_frames[:24])]
    for frames, worker in ((several, True), (one, False)):
        plain, _, _ = _table(frames, overlap=False)
        fast, threads = _worker_run(frames)
        faces = plain[plain["success"] == 1].groupby("frame").size()
        assert (faces.min() >= PREPARE_FROM_FACES) == worker
        assert bool(threads) == worker
        assert all(t.startswith("tells-stages") for t in threads)
        assert list(plain.columns) == list(fast.columns)
        assert np.array_equal(plain.to_numpy(float), fast.to_numpy(float), equal_nan=True)

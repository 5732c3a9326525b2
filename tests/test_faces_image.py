"""Faces in photos: counts, pose conventions, tight crops."""

from __future__ import annotations

import numpy as np

import tells
from tells.io.image import read_image
from tells.io.samples import POSED_PHOTOS, sample_path


def test_multi_face_photo_has_five_faces():
    faces = tells.analyze_image(sample_path("multi_face.jpg"))
    assert len(faces) == 5
    centres = sorted((round(f.box[0] + f.box[2] / 2), round(f.box[1] + f.box[3] / 2))
                     for f in faces)
    assert len({c for c in centres}) == 5  # five distinct places
    for f in faces:
        assert f.landmarks.shape == (478, 3) and f.aligned.shape == (478, 3)


def test_every_posed_photo_has_one_face():
    for name in POSED_PHOTOS:
        assert len(tells.analyze_image(sample_path(name))) == 1, name


def test_mirrored_face_mirrors_yaw_and_roll():
    img = read_image(sample_path("multi_face.jpg"))
    a = tells.analyze_image(img)
    b = tells.analyze_image(np.ascontiguousarray(img[:, ::-1]))
    w = img.shape[1]
    for fa in a:
        cx = fa.box[0] + fa.box[2] / 2
        fb = min(b, key=lambda f: abs((w - (f.box[0] + f.box[2] / 2)) - cx))
        assert abs(fa.pose[1] + fb.pose[1]) < 0.08  # yaw flips sign
        assert abs(fa.pose[2] + fb.pose[2]) < 0.08  # roll flips sign
        assert abs(fa.pose[0] - fb.pose[0]) < 0.08  # pitch unchanged


def test_rotated_image_changes_roll():
    img = read_image(sample_path("single_face.jpg"))
    import cv2

    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0)  # counter-clockwise on screen
    rot = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    r0 = tells.analyze_image(img)[0].pose[2]
    r1 = tells.analyze_image(rot)[0].pose[2]
    assert abs(abs(r1 - r0) - np.radians(20)) < 0.06


def test_tight_grey_crop_is_still_analysed():
    img = read_image(sample_path("single_face.jpg"))
    face = tells.analyze_image(img)[0]
    x, y, w, h = (int(v) for v in face.box)
    crop = img[y:y + h, x:x + w]
    import cv2

    small = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (48, 48))
    found = tells.analyze_image(small)
    assert len(found) == 1 and found[0].found_by in ("detected", "padded")
    assert found[0].box[2] < 60  # reported in the 48×48 image's own pixels


def test_alpha_png_and_grayscale_are_read():
    rgba = read_image(sample_path("Image_with_alpha.png"))
    assert rgba.ndim == 3 and rgba.shape[2] == 3 and rgba.dtype == np.uint8
    assert len(tells.analyze_image(sample_path("Image_with_alpha.png"))) >= 1
    gray = read_image(sample_path("single_face.jpg")).mean(axis=2).astype(np.uint8)
    assert len(tells.analyze_image(gray)) == 1

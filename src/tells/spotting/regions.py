"""Facial regions as sets of mesh landmarks (brows, glabella, eyes, cheeks, nose, mouth
corners, chin); spotting follows each region's mean position in the head frame. The lip
corners also have regions of their own (the corner and the inner corner point): averaged into
the whole mouth side, a one-sided flick of the corner (contempt, R12+R14) is diluted below
the detection threshold."""

from __future__ import annotations

#: region name → mesh landmarks outlining it (subject's left = image right)
REGION_LANDMARKS: dict[str, list[int]] = {
    "brow_left": [285, 295, 282, 283, 276, 300, 293, 334, 296, 336],
    "brow_right": [55, 65, 52, 53, 46, 70, 63, 105, 66, 107],
    "glabella": [9, 107, 336, 151, 55, 285, 8],
    "eye_left": [362, 385, 387, 263, 373, 380, 398, 466, 249, 390],
    "eye_right": [33, 160, 158, 133, 153, 144, 173, 246, 7, 163],
    "cheek_left": [347, 330, 425, 411, 352, 280, 346],
    "cheek_right": [118, 101, 205, 187, 123, 50, 117],
    "nose": [6, 197, 195, 5, 4, 48, 278, 98, 327],
    "mouth_left": [291, 375, 321, 405, 409, 270, 287, 432],
    "mouth_right": [61, 146, 91, 181, 185, 40, 57, 212],
    "chin": [17, 84, 314, 200, 199, 175, 18, 83, 313],
    "corner_left": [291, 308],
    "corner_right": [61, 78],
}
REGIONS = list(REGION_LANDMARKS)

"""tells: micro-expressions in face video, FACS action units, emotions, and training.

Public surface (kept small on purpose):

- :func:`tells.analyze_video` — a video file to per-frame table (and, with later stages, events).
- :func:`tells.analyze_image` — an image (path or RGB array) to a list of per-face results.

Micro-expressions are cues to an emotion, not proof of a lie; every output carries its
confidence.
"""

from __future__ import annotations

__version__ = "0.1.0"

DISCLAIMER = (
    "Micro-expressions are brief cues to an emotion a person may feel; they are not proof of "
    "deception, and every result here is an estimate with a stated confidence."
)

__all__ = ["__version__", "DISCLAIMER", "analyze_video", "analyze_image"]


def __getattr__(name: str):  # lazy: importing tells must not load mediapipe
    if name in ("analyze_video", "analyze_image"):
        from tells import api

        return getattr(api, name)
    raise AttributeError(f"module 'tells' has no attribute {name!r}")

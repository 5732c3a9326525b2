"""Stimulus items and packs.

An *item* is a neutral face, the same face showing an emotion, the emotion's label and its
action units. A *pack* is a folder of items in the trainer's library::

    LIBRARY/<pack>/manifest.json
    LIBRARY/<pack>/items/<item>/neutral.png, expression.png   (registered, same size)
    LIBRARY/<pack>/items/<item>/clip/f000.jpg …                  (video-clip items only)

Packs are built from a user's folder (``PACK/<emotion>/<item>/neutral.(png|jpg)`` and
``expression.(png|jpg)``, see :func:`build_from_folder`), from analyses and from the face warp
(:mod:`tells.trainer.sources`). Items from a user's folder are accepted as labelled; items made
from analyses wait for the user's review (``status == "pending"``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tells.errors import InputError, OutputError
from tells.trainer.emotions import EMOTIONS, au_marks, prototype_code
from tells.trainer.images import IMAGE_SUFFIXES, write_png
from tells.trainer.validate import PreparedPair, prepare_pair

MANIFEST = "manifest.json"
CLIP_DIR = "clip"
STATUSES = ("accepted", "pending", "rejected")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def trainer_home() -> Path:
    """Where trainer data lives: ``$TELLS_HOME/trainer`` or the user data directory."""
    env = os.environ.get("TELLS_HOME")
    if env:
        return Path(env).expanduser() / "trainer"
    from platformdirs import user_data_dir

    return Path(user_data_dir("tells", appauthor=False)) / "trainer"


def default_library() -> Path:
    return trainer_home() / "packs"


@dataclass
class Item:
    """One stimulus. ``neutral``/``expression`` are PNG paths of the same size."""

    pack: str
    id: str
    emotion: str
    aus: str
    #: "prototype" (EMFACS table), "event" (spotted by analysis) or "warp" (generated)
    aus_source: str
    #: items with the same face_key show the same face (used to keep test faces unseen)
    face_key: str
    status: str = "accepted"
    marks: list[dict] = field(default_factory=list)
    origin: dict = field(default_factory=dict)
    #: video-clip items: ``{"t_ms": [0, 41.7, …], "apex": k}``, one presentation time per
    #: frame ``clip/f000.jpg …`` (true speed, from the video's timestamps); empty for a photo pair
    clip: dict = field(default_factory=dict)
    pack_dir: Path | None = None

    @property
    def key(self) -> str:
        return f"{self.pack}/{self.id}"

    @property
    def neutral(self) -> Path:
        return self.pack_dir / "items" / self.id / "neutral.png"

    @property
    def expression(self) -> Path:
        return self.pack_dir / "items" / self.id / "expression.png"

    def clip_frame(self, k: int) -> Path:
        return self.pack_dir / "items" / self.id / CLIP_DIR / f"f{k:03d}.jpg"

    @property
    def clip_ms(self) -> float:
        """How long the clip runs from its first frame after the neutral one to its end (its
        last frame shown for one frame interval); 0 for a photo pair."""
        t = self.clip.get("t_ms") or []
        if len(t) < 2:
            return 0.0
        return float(t[-1] - t[1] + (t[-1] - t[-2]))

    def media_file(self, name: str) -> Path | None:
        """The file behind a media name the app asks for (``neutral.png``, ``expression.png``,
        ``clip/f007.jpg``), or None."""
        if name in ("neutral.png", "expression.png"):
            return self.neutral if name == "neutral.png" else self.expression
        m = re.fullmatch(rf"{CLIP_DIR}/f(\d{{3}})\.jpg", name)
        if m and int(m.group(1)) < len(self.clip.get("t_ms") or []):
            return self.clip_frame(int(m.group(1)))
        return None

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("pack_dir")
        d.pop("pack")
        return d


@dataclass
class Problem:
    """A rejected input with the reason, for the build summary."""

    where: str
    reason: str


@dataclass
class Pack:
    name: str
    path: Path
    source: str
    items: list[Item]
    problems: list[Problem] = field(default_factory=list)
    created: str = ""
    #: warnings about inputs that were used (e.g. a "neutral" photo that shows an emotion)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for it in self.items:
            out[it.status] = out.get(it.status, 0) + 1
        return out

    def save(self) -> None:
        data = {
            "name": self.name,
            "source": self.source,
            "created": self.created,
            "items": [it.to_json() for it in self.items],
            "problems": [asdict(p) for p in self.problems],
            "notes": self.notes,
        }
        tmp = self.path / (MANIFEST + ".tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(self.path / MANIFEST)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write the pack manifest ({exc.strerror})") from None


def check_pack_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise InputError(
            f"pack name {name!r} is not usable; use letters, digits, '-', '_' or '.' "
            "(at most 64 characters)"
        )
    return name


def load_pack(path: str | Path) -> Pack:
    p = Path(path)
    try:
        data = json.loads((p / MANIFEST).read_text())
    except FileNotFoundError:
        raise InputError(f"{p}: not a built pack (no {MANIFEST}); build it with 'tells train pack build'") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{p / MANIFEST}: cannot read the pack manifest ({exc})") from None
    items = [Item(pack=data["name"], pack_dir=p, **it) for it in data.get("items", [])]
    problems = [Problem(**q) for q in data.get("problems", [])]
    return Pack(data["name"], p, data.get("source", ""), items, problems, data.get("created", ""),
                list(data.get("notes", [])))


def list_packs(library: str | Path | None = None) -> list[Pack]:
    lib = Path(library) if library else default_library()
    if not lib.is_dir():
        return []
    return [load_pack(d) for d in sorted(lib.iterdir()) if (d / MANIFEST).is_file()]


def load_items(library: str | Path | None = None, packs: list[str] | None = None,
               status: str = "accepted") -> list[Item]:
    """Items of the given status from all packs (or the named ``packs``) in the library."""
    out: list[Item] = []
    for pack in list_packs(library):
        if packs and pack.name not in packs:
            continue
        out.extend(it for it in pack.items if it.status == status)
    return out


def new_pack(library: str | Path | None, name: str, source: str, *, replace: bool = False) -> Pack:
    """Create an empty pack folder in the library."""
    lib = Path(library) if library else default_library()
    path = lib / check_pack_name(name)
    if path.exists():
        if not replace:
            raise OutputError(f"{path}: a pack named {name!r} exists; choose another name or use --replace")
        shutil.rmtree(path)
    try:
        (path / "items").mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the pack folder ({exc.strerror})") from None
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return Pack(name, path, source, [], [], created)


def add_item(pack: Pack, item_id: str, pair: PreparedPair, *, emotion: str, aus: str,
             aus_source: str, face_key: str, status: str, origin: dict) -> Item:
    """Write a prepared pair into ``pack`` and append the item (the manifest is saved by the
    caller with :meth:`Pack.save`)."""
    d = pack.path / "items" / item_id
    write_png(d / "neutral.png", pair.neutral)
    write_png(d / "expression.png", pair.expression)
    h, w = pair.expression.shape[:2]
    item = Item(
        pack=pack.name, id=item_id, emotion=emotion, aus=aus, aus_source=aus_source,
        face_key=face_key, status=status, marks=au_marks(aus, pair.landmarks, w, h),
        origin=origin, pack_dir=pack.path,
    )
    pack.items.append(item)
    return item


def finish_pack(pack: Pack, nothing: str) -> Pack:
    """Save the manifest and return ``pack``; a pack that got no item is removed instead and
    the build fails with one line: ``nothing`` and the first reasons items were left out."""
    pack.save()
    if not pack.items:
        shutil.rmtree(pack.path, ignore_errors=True)
        detail = "; ".join(f"{p.where}: {p.reason}" for p in pack.problems[:3])
        raise InputError(f"{nothing} ({detail})")
    return pack


def _find_image(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for cand in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if cand.is_file():
                return cand
    return None


def file_key(path: Path) -> str:
    """A short content hash: items whose neutral images are the same file share a face key."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def scan_folder(folder: str | Path) -> tuple[list[tuple[str, str, Path, Path]], list[Problem]]:
    """Find ``<emotion>/<item>/neutral.*`` + ``expression.*`` in a user's pack folder.

    Returns ``(emotion, item, neutral_path, expression_path)`` tuples and problems found by
    the layout alone (unknown emotion folders, a missing image).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder; a pack folder holds <emotion>/<item>/neutral.png and expression.png")
    found, problems = [], []
    for edir in sorted(p for p in root.iterdir() if p.is_dir()):
        emotion = edir.name.lower()
        if emotion not in EMOTIONS:
            problems.append(Problem(str(edir), f"'{edir.name}' is not an emotion; folders must be one of {', '.join(EMOTIONS)}"))
            continue
        for idir in sorted(p for p in edir.iterdir() if p.is_dir()):
            n, e = _find_image(idir, "neutral"), _find_image(idir, "expression")
            if n is None or e is None:
                missing = " and ".join(s for s, f in (("neutral", n), ("expression", e)) if f is None)
                problems.append(Problem(str(idir), f"missing {missing} image (.png or .jpg)"))
                continue
            found.append((emotion, idir.name, n, e))
    if not found and not problems:
        raise InputError(f"{root}: no items found; expected <emotion>/<item>/neutral.png and expression.png")
    return found, problems


def build_from_folder(folder: str | Path, name: str | None = None, *,
                      library: str | Path | None = None, replace: bool = False,
                      analyze=None, progress=None) -> Pack:
    """Validate every item of a user's pack folder and build a library pack from the good ones.

    Bad items (no face, two different people, unreadable file, cannot be aligned) are left out
    and listed in ``pack.problems`` with the reason; the build fails only if no item is good.
    """
    found, problems = scan_folder(folder)
    pack = new_pack(library, name or Path(folder).resolve().name, "folder", replace=replace)
    pack.problems.extend(problems)
    for emotion, item, n, e in found:
        where = f"{emotion}/{item}"
        try:
            pair = prepare_pair(n, e, name=where, analyze=analyze)
        except InputError as exc:
            pack.problems.append(Problem(where, str(exc)))
        else:
            # opaque id: image URLs must not give the answer away
            item_id = "i" + hashlib.sha256(f"{emotion}/{item}".encode()).hexdigest()[:10]
            add_item(pack, item_id, pair, emotion=emotion, aus=prototype_code(emotion),
                     aus_source="prototype", face_key=file_key(n), status="accepted",
                     origin={"neutral": str(n), "expression": str(e),
                             "identity_distance": round(pair.identity_distance, 4)})
        if progress:
            progress(1)
    return finish_pack(pack, f"{folder}: no usable item")


def set_status(library: str | Path | None, item_key: str, status: str) -> Item:
    """Accept or reject an item (``"pack/item"``) after review."""
    if status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}")
    pack_name, _, item_id = item_key.partition("/")
    lib = Path(library) if library else default_library()
    pack = load_pack(lib / check_pack_name(pack_name))
    for it in pack.items:
        if it.id == item_id:
            it.status = status
            pack.save()
            return it
    raise InputError(f"no item {item_id!r} in pack {pack_name!r}")


def find_item(library: str | Path | None, item_key: str) -> Item | None:
    pack_name, _, item_id = item_key.partition("/")
    lib = Path(library) if library else default_library()
    if not _NAME_RE.match(pack_name) or not (lib / pack_name / MANIFEST).is_file():
        return None
    for it in load_pack(lib / pack_name).items:
        if it.id == item_id:
            return it
    return None

"""``tells eval agreement --openface OF.csv FRAMES``: how tells' action-unit intensities agree
with another coder's per-frame table in OpenFace 2 format (OpenFace's FeatureExtraction, or
any tool writing its column names).

Rows are matched by frame: OpenFace numbers frames from 1, tells from 0, so OpenFace's frame
``k`` is tells' frame ``k - 1`` (``--frame-base`` changes this for a table numbered from 0).
A row counts only where both tables have the face (OpenFace ``success`` 1, tells ``success``
1 and the AU value present). For every ``AUxx_r`` column in both tables::

    r       Pearson correlation over the matched frames (null when either side is constant)
    offset  mean(tells - other): how much higher tells reads, in intensity units
    scale   least-squares slope of tells on the other coder (tells ≈ a + scale · other);
            1 = same spread, below 1 = tells reads a smaller range
    n       matched frames

JSON (``--json``)::

    {"openface": path, "frames": path, "face_id": id, "frame_base": 1, "n_frames": n,
     "aus": {"AU01": {"r", "offset", "scale", "n", "tells_mean", "openface_mean"}, ...},
     "mean_r": mean of the defined r, "hand_frames": [frames left out] (with --skip-hands)}

``--skip-hands --video VIDEO`` leaves out the frames in which a hand lies on the face
(:func:`tells.face.hands.hand_on_face_frames`): under fingers both coders read what the hand
does to the skin.

OpenFace normalises intensities per person in its dynamic models (it subtracts a running
median of the person's appearance); tells reads them against the person's neutral face,
so offsets near zero are expected on a face that rests most of the time.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tells.cli.common import add_output_flags, print_json
from tells.errors import InputError

_AU = re.compile(r"^AU(\d{2})_r$")


def register(kinds) -> None:
    p = kinds.add_parser(
        "agreement", help="per-AU agreement (Pearson r, offset, scale) with an OpenFace CSV",
        description=(
            "Compare tells' per-frame action-unit intensities (FRAMES: frames.csv or "
            "frames.parquet from `tells analyze`, or its output folder) with an OpenFace 2 "
            "FeatureExtraction CSV of the same video. OpenFace numbers frames from 1, tells "
            "from 0: OpenFace frame k is matched to tells frame k-1. Frames where either "
            "failed to find the face are left out. Per AU: Pearson r, mean offset (tells "
            "minus OpenFace), scale (least-squares slope of tells on OpenFace) and the "
            "number of frames."
        ),
    )
    p.add_argument("--openface", required=True, type=Path, metavar="CSV",
                   help="OpenFace FeatureExtraction CSV (columns frame, success, AUxx_r)")
    p.add_argument("frames", type=Path, metavar="FRAMES",
                   help="tells' frames.csv / frames.parquet, or the analysis folder")
    p.add_argument("--face-id", type=int, default=None,
                   help="tells face to compare (default: the face seen in most frames)")
    p.add_argument("--frame-base", type=int, default=1, choices=[0, 1],
                   help="first frame number of the OpenFace table (default 1, as "
                   "FeatureExtraction writes; tells starts at 0)")
    p.add_argument("--show", type=Path, metavar="DIR",
                   help="also write DIR/AUxx.png per action unit: the frames where tells reads "
                   "it highest above OpenFace, where OpenFace reads it highest above tells "
                   "(by one intensity step or more, at least 0.5 s apart), and the frame both "
                   "read lowest, cut from --video, to judge who is right")
    p.add_argument("--video", type=Path, metavar="VIDEO",
                   help="the video both tables were made from (needed by --show)")
    p.add_argument("--au", metavar="LIST",
                   help="units to show, e.g. AU01,AU17 (default: those with r below 0.5 "
                   "or undefined)")
    p.add_argument("--skip-hands", action="store_true",
                   help="leave out the frames in which a hand lies on the face (found in "
                   "--video by mediapipe's hand tracker): the skin under fingers reads what "
                   "the hand does, for either coder")
    p.add_argument("--per-side", type=int, default=5, metavar="N",
                   help="frames per side of a disagreement on a sheet (default 5)")
    add_output_flags(p)
    p.set_defaults(handler=run)


def _read(path: Path, what: str) -> pd.DataFrame:
    if path.is_dir():
        for name in ("frames.parquet", "frames.csv"):
            if (path / name).exists():
                path = path / name
                break
        else:
            raise InputError(f"{path}: no frames.parquet or frames.csv (run `tells analyze`)")
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    try:
        df = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(
            path, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty {what}") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a readable {what} ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]  # OpenFace writes ", AU01_r"
    if "frame" not in df.columns:
        raise InputError(f"{path}: no 'frame' column (expected a per-frame {what})")
    return df


def read_openface(path: str | Path) -> pd.DataFrame:
    """An OpenFace per-frame CSV with its column names stripped of OpenFace's spaces."""
    return _read(Path(path), "OpenFace CSV")


def read_tells(path: str | Path) -> pd.DataFrame:
    """tells' per-frame table (a file, or an analysis folder holding one)."""
    return _read(Path(path), "tells per-frame table")


def _ok(df: pd.DataFrame) -> pd.Series:
    if "success" not in df.columns:
        return pd.Series(True, index=df.index)
    return pd.to_numeric(df["success"], errors="coerce").fillna(0) > 0.5


def _pick_face(df: pd.DataFrame, face_id: int | None, path: str) -> tuple[pd.DataFrame, int | None]:
    if "face_id" not in df.columns:
        return df, None
    ids = pd.to_numeric(df["face_id"], errors="coerce")
    if face_id is None:
        counts = ids[_ok(df)].value_counts()
        if counts.empty:
            return df.iloc[:0], None
        face_id = int(counts.index[0])
    out = df[ids == face_id]
    if out.empty:
        raise InputError(f"{path}: no rows of face_id {face_id}")
    return out, face_id


def _stats(t: np.ndarray, o: np.ndarray) -> dict:
    n = len(t)
    st, so = float(np.std(t)), float(np.std(o))
    r = float(np.corrcoef(t, o)[0, 1]) if n >= 2 and st > 1e-12 and so > 1e-12 else None
    scale = float(np.cov(t, o, bias=True)[0, 1] / so**2) if n >= 2 and so > 1e-12 else None
    return {"r": r, "offset": float(np.mean(t - o)), "scale": scale, "n": n,
            "tells_mean": float(np.mean(t)), "openface_mean": float(np.mean(o))}


#: tells' columns the matched table keeps for ``--show`` (when the table has them)
SHOW_COLUMNS = ("timestamp", "x", "y", "width", "height")


def agreement(openface: pd.DataFrame, tells: pd.DataFrame, face_id: int | None = None,
              frame_base: int = 1) -> dict:
    """Per-AU agreement of tells' intensities with an OpenFace table (see the module doc).

    Parameters
    ----------
    openface : OpenFace per-frame table (columns ``frame``, ``success``, ``AUxx_r``; the
        face with ``face_id`` 0 if it has several).
    tells : tells' per-frame table.
    face_id : tells face to compare; default the one seen in most successful frames.
    frame_base : number of OpenFace's first frame (1 for FeatureExtraction).

    Raises
    ------
    InputError
        No AU column in common, or no frame where both found the face.
    """
    return summarize(*match(openface, tells, face_id, frame_base), frame_base)


def match(openface: pd.DataFrame, tells: pd.DataFrame, face_id: int | None = None,
          frame_base: int = 1) -> tuple[pd.DataFrame, list[str], int | None]:
    """The frames both tables found the face in (parameters and errors as :func:`agreement`):
    ``(matched, common, face_id)``, ``matched`` on tells' frame numbers with columns
    ``AUxx_r_t`` (tells), ``AUxx_r_of`` (OpenFace) and tells' :data:`SHOW_COLUMNS` it has,
    ``common`` the AU numbers in both, ``face_id`` the tells face compared."""
    of_aus = {m.group(1) for c in openface.columns if (m := _AU.match(c))}
    t_aus = {m.group(1) for c in tells.columns if (m := _AU.match(c))}
    common = sorted(of_aus & t_aus, key=int)
    if not common:
        raise InputError("no AUxx_r column in both tables (OpenFace AUs: "
                         f"{', '.join(sorted(of_aus)) or 'none'}; tells AUs: "
                         f"{', '.join(sorted(t_aus)) or 'none'})")
    of = openface
    if "face_id" in of.columns and of["face_id"].nunique() > 1:
        of = of[pd.to_numeric(of["face_id"], errors="coerce") == 0]
    of = of[_ok(of)].copy()
    tl, face_id = _pick_face(tells, face_id, "tells table")
    tl = tl[_ok(tl)].copy()
    of["frame"] = pd.to_numeric(of["frame"], errors="coerce") - frame_base
    tl["frame"] = pd.to_numeric(tl["frame"], errors="coerce")
    cols = [f"AU{a}_r" for a in common]
    extra = [c for c in SHOW_COLUMNS if c in tl.columns]
    m = of[["frame", *cols]].merge(tl[["frame", *cols, *extra]], on="frame",
                                   suffixes=("_of", "_t"))
    if m.empty:
        raise InputError(
            f"no frame where both found the face (OpenFace frames {_span(of['frame'] + frame_base)}"
            f", tells frames {_span(tl['frame'])}; OpenFace frame k is tells frame "
            f"k-{frame_base})")
    return m, common, face_id


def summarize(m: pd.DataFrame, common: list[str], face_id: int | None, frame_base: int) -> dict:
    """:func:`agreement`'s result from :func:`match`'s."""
    cols = [f"AU{a}_r" for a in common]
    aus = {}
    for a, c in zip(common, cols, strict=True):
        pair = m[[f"{c}_t", f"{c}_of"]].apply(pd.to_numeric, errors="coerce").dropna()
        if len(pair):
            aus[f"AU{a}"] = _stats(pair.iloc[:, 0].to_numpy(float), pair.iloc[:, 1].to_numpy(float))
    rs = [v["r"] for v in aus.values() if v["r"] is not None]
    return {"face_id": face_id, "frame_base": frame_base, "n_frames": int(len(m)),
            "aus": aus, "mean_r": float(np.mean(rs)) if rs else None}


def _span(s: pd.Series) -> str:
    s = s.dropna()
    return "none" if s.empty else f"{int(s.min())}..{int(s.max())}"


def run(args) -> int:
    if args.show is not None and args.video is None:
        raise InputError("--show needs --video: the video the tables were made from")
    if args.skip_hands and args.video is None:
        raise InputError("--skip-hands needs --video: the video the tables were made from")
    if args.per_side < 1:
        raise InputError("--per-side must be at least 1")
    matched = match(read_openface(args.openface), read_tells(args.frames),
                    face_id=args.face_id, frame_base=args.frame_base)
    hands = None
    if args.skip_hands:
        hands = _hand_frames(args, matched[0])
        kept = matched[0][~matched[0]["frame"].isin(hands)]
        if kept.empty:
            raise InputError("--skip-hands: a hand lies on the face in every matched frame")
        matched = (kept, *matched[1:])
    result = {"openface": str(args.openface), "frames": str(args.frames),
              **summarize(*matched, args.frame_base)}
    if hands is not None:
        result["hand_frames"] = hands
    if args.show is not None:
        result["sheets"] = _show(args, result, matched[0])
    if args.json:
        print_json(result)
    else:
        print(format_table(result))
        for au, s in result.get("sheets", {}).items():
            print(f"{au}: {s['file']} (tells higher on {len(s['tells_higher'])} frames, "
                  f"OpenFace higher on {len(s['openface_higher'])})")
    return 0


def _hand_frames(args, m: pd.DataFrame) -> list[int]:
    """The matched frames with a hand on the face (``--skip-hands``)."""
    from tells.cli.agreement_frames import face_boxes
    from tells.face.hands import hand_on_face_frames
    from tells.io.video import check_input_file

    video = check_input_file(args.video)
    _need_columns(args, m, ("x", "y", "width", "height"))
    return hand_on_face_frames(video, face_boxes(m))


def _need_columns(args, m: pd.DataFrame, columns) -> None:
    """One error line unless tells' table gave ``m`` all of ``columns``."""
    missing = set(columns) - set(m.columns)
    if missing:
        raise InputError(f"{args.frames}: no {', '.join(sorted(missing))} column "
                         "(a tells per-frame table has them)")


def _show(args, result: dict, m: pd.DataFrame) -> dict:
    """Pick and draw the frames of each unit's disagreement (``--show``)."""
    from tells.cli.agreement_frames import pick_frames, write_sheets
    from tells.io.video import check_input_file

    video = check_input_file(args.video)
    _need_columns(args, m, SHOW_COLUMNS)
    if args.au:
        aus = [a.strip().upper() for a in args.au.split(",") if a.strip()]
        unknown = [a for a in aus if a not in result["aus"]]
        if unknown:
            raise InputError(f"--au: {', '.join(unknown)} not in both tables (there: "
                             f"{', '.join(result['aus'])})")
    else:
        aus = [a for a, s in result["aus"].items() if s["r"] is None or s["r"] < 0.5]
    picks = {a: pick_frames(m, a, per_side=args.per_side) for a in aus}
    files = write_sheets(video, m, picks, args.show) if picks else []
    return {a: {"file": str(f), **picks[a]} for a, f in zip(aus, files, strict=True)}


def format_table(result: dict) -> str:
    """The human table: one line per AU, then the mean r."""
    def num(v, fmt="+.2f") -> str:
        return "    -" if v is None or (isinstance(v, float) and math.isnan(v)) else \
            format(v, fmt)

    lines = [f"AU agreement with OpenFace over {result['n_frames']} frames "
             f"(tells face {result['face_id']}; OpenFace frame k = tells frame "
             f"k-{result['frame_base']})"
             + (f"; {len(result['hand_frames'])} frames with a hand on the face left out"
                if "hand_frames" in result else ""),
             f"{'AU':6} {'r':>6} {'offset':>7} {'scale':>6} {'n':>6}"]
    for au, s in result["aus"].items():
        lines.append(f"{au:6} {num(s['r']):>6} {num(s['offset']):>7} "
                     f"{num(s['scale'], '.2f'):>6} {s['n']:>6}")
    lines.append(f"mean r {num(result['mean_r'])}")
    return "\n".join(lines)

"""``tells people``: name a face once, find that person again in later recordings.

Local and off by default: nothing is stored until ``tells people add``, nothing is matched
until ``tells people match``; ``remove`` and ``clear`` delete the stored descriptors. See
:mod:`tells.face.people`.
"""

from __future__ import annotations

from pathlib import Path

from tells.cli.common import add_output_flags, print_json

_PRIVACY = ("face descriptors identify people: name only people who agreed, and tell everyone "
            "you record that their face is analysed")


def register(sub) -> None:
    p = sub.add_parser(
        "people", help="name faces once and recognise them in later recordings (local, opt-in)",
        description="Keep named face descriptors on this computer only (in TELLS_HOME/people/) "
        "to recognise the same person in later recordings. Nothing is stored until you add "
        "someone; 'remove' and 'clear' delete the data. " + _PRIVACY[0].upper() + _PRIVACY[1:]
        + ".")
    acts = p.add_subparsers(dest="people_action", metavar="ACTION")
    a = acts.add_parser("list", help="named people (default)")
    add_output_flags(a)
    a = acts.add_parser("add", help="name a face of a video")
    a.add_argument("name", help="a name or role, e.g. customer")
    a.add_argument("video", type=Path)
    a.add_argument("--face-id", type=int, default=None,
                   help="which face of the video (needed when it has several)")
    add_output_flags(a)
    a = acts.add_parser("match", help="which named people appear in a video")
    a.add_argument("video", type=Path)
    a.add_argument("-o", "--out", type=Path, default=None,
                   help="also write DIR/people.json (face id → name, distances)")
    add_output_flags(a)
    a = acts.add_parser("remove", help="delete one named person")
    a.add_argument("name")
    add_output_flags(a)
    a = acts.add_parser("clear", help="delete every named person (the whole store)")
    add_output_flags(a)
    add_output_flags(p)
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.face import people as store

    action = args.people_action or "list"
    if action == "add":
        return _add(args, store)
    if action == "match":
        return _match(args, store)
    if action == "remove":
        people = store.load()
        if args.name not in people:
            from tells.errors import InputError

            raise InputError(f"no person named {args.name!r} (known: "
                             f"{', '.join(sorted(people)) or 'none'})")
        del people[args.name]
        store.save(people)
        _say(args, f"removed {args.name}; {len(people)} named people left")
        return 0
    if action == "clear":
        n = len(store.load()) if store.store_path().is_file() else 0
        store.store_path().unlink(missing_ok=True)
        _say(args, f"deleted {store.store_path()} ({n} named people)")
        return 0
    people = store.load()
    rows = [{"name": n, "descriptors": len(e["descriptors"]), "added": e.get("added"),
             "source": e.get("source")} for n, e in sorted(people.items())]
    if args.json:
        print_json({"store": str(store.store_path()), "people": rows})
    elif not rows:
        print("no named people (nothing stored); add one with 'tells people add NAME VIDEO'")
    else:
        for r in rows:
            print(f"{r['name']:<20} {r['descriptors']:>3} descriptors  added {r['added']}  "
                  f"from {r['source']}")
        print(f"stored in {store.store_path()}")
    return 0


def _add(args, store) -> int:
    from tells.errors import InputError
    from tells.io.video import check_input_file

    faces = store.faces_in(check_input_file(args.video))
    if not faces:
        raise InputError(f"{args.video}: no face found")
    if args.face_id is None:
        if len(faces) > 1:
            listing = ", ".join(f"{k} ({v['frames']} frames)" for k, v in sorted(faces.items()))
            raise InputError(f"{args.video} has several faces: {listing}; choose one with "
                             f"--face-id (the ids of 'tells analyze' on this video)")
        face_id = next(iter(faces))
    elif args.face_id not in faces:
        raise InputError(f"{args.video} has no face {args.face_id} "
                         f"(faces: {', '.join(map(str, sorted(faces)))})")
    else:
        face_id = args.face_id
    people = store.add(args.name, faces[face_id]["descriptors"], args.video.name)
    if args.json:
        print_json({"name": args.name, "face_id": face_id,
                    "descriptors": len(people[args.name]["descriptors"]),
                    "store": str(store.store_path())})
    elif not args.quiet:
        print(f"named face {face_id} of {args.video.name} '{args.name}' "
              f"({len(people[args.name]['descriptors'])} descriptors in {store.store_path()})")
        print(f"note: {_PRIVACY}")
    return 0


def _match(args, store) -> int:
    from tells.errors import InputError
    from tells.io.table import ensure_writable_dir, write_json
    from tells.io.video import check_input_file

    people = store.load()
    if not people:
        raise InputError("no named people yet: add one with 'tells people add NAME VIDEO'")
    out = ensure_writable_dir(args.out) if args.out is not None else None
    faces = store.faces_in(check_input_file(args.video))
    rows = []
    for face_id, f in sorted(faces.items()):
        name, d1, d2 = store.match(f["descriptors"], people)
        rows.append({"face_id": face_id, "name": name, "frames": f["frames"],
                     "distance": None if d1 == float("inf") else round(d1, 3),
                     "runner_up": None if d2 == float("inf") else round(d2, 3)})
    if out is not None:
        write_json({"video": str(args.video), "faces": rows}, out / "people.json")
    if args.json:
        print_json({"video": str(args.video), "faces": rows})
    elif not args.quiet:
        for r in rows:
            who = r["name"] or "not a named person"
            print(f"face {r['face_id']:<3} {who:<20} distance {r['distance']}  "
                  f"({r['frames']} frames)")
    return 0


def _say(args, msg: str) -> None:
    if args.json:
        print_json({"message": msg})
    elif not args.quiet:
        print(msg)

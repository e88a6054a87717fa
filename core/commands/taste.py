"""`keepers taste import|show|reset|export|list`: the photographer's own taste, learned on this machine.

A profile (keepers.core.taste.store) holds signals, pairs of photos where one was preferred, and the small model
trained on them (keepers.core.taste.model); `keepers cull --taste PROFILE` (or the `taste` setting) adds its
personal term in the judging step (keepers.core.taste.term)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl


def _catalog(settings):
    from keepers.core.io.catalog import Catalog

    Path(settings.catalog).parent.mkdir(parents=True, exist_ok=True)
    return Catalog(settings.catalog)


def taste_import(args, settings) -> int:
    from keepers.core.taste import store

    name = store.check_name(args.profile)
    if args.review is not None:
        return learn_from_review(settings, args.review, name=name, explicit=True)
    if args.signals:
        from keepers.core.taste import ratings, signals

        where = settings.daemon.store_path(settings.catalog)
        values, apps = signals.from_daemon(where, args.app)
        choices = ratings.pairs(values)
        print(f"{len(values)} photos with your picks, rejects or stars sent by {args.app or ', '.join(apps) or 'no application yet'}: "
              f"{len(choices)} choices")
        if not choices:
            raise UserError("no two photos of one folder flagged or rated differently: nothing to learn from")
        return _add(name, choices, f"signals:{args.app or '*'}", settings, replace=True)
    if args.ratings:
        from keepers.core.taste import ratings

        values, errors = ratings.from_paths(args.ratings)
        for f, why in errors[:5]:
            print(f"  not read: {f}: {why}")
        choices, source = ratings.pairs(values), "ratings"
        print(f"{len(values)} photos rated by you (Keepers' own ratings left out): {len(choices)} choices")
        if not choices:
            raise UserError("no two photos of one folder rated differently: nothing to learn from")
        return _add(name, choices, source, settings)
    if not args.file:
        raise UserError("name a CSV of choices (preferred,other), a profile file (.json) or --ratings PATH...")
    src = Path(args.file)
    if src.suffix.lower() == ".json":  # a profile exported by `keepers taste export`
        incoming = store.read_file(src, name)
        store.save(settings.catalog, incoming)
        print(f"profile {name}: imported from {src} ({len(incoming.signals)} signals)")
        return 0
    from keepers.core.taste.learn import read_choices

    choices = read_choices(src)
    if not choices:
        raise UserError(f"{src}: no choices (rows of preferred,other)")
    return _add(name, choices, f"csv:{src.resolve()}", settings)


def learn_from_review(settings, paths, *, name=None, explicit=False, say=print) -> int:
    """The review page's choices of photos under `paths` (all: empty) into profile `name` (the `taste` setting's:
    None), replacing what the page gave before (a star changed since counts as it is now). Called by `taste import
    --review` and when the review page closes: the page records each choice in the catalog as it is made; the
    profile learns here, off the page's requests."""
    from keepers.core.taste import signals, store

    name = name or getattr(settings, "taste", None)
    if not name:
        return 0
    if not explicit and store.load(settings.catalog, name) is None:
        say(f"taste profile {name!r} is gone: the review page's choices stay in the catalog (keepers taste import "
            f"{name} --review learns from them)")
        return 0
    choices = signals.from_review(settings.catalog, paths)
    if explicit:
        say(f"{len(choices)} choices from the review page (your stars, rejects and burst picks; Keepers' own "
            "stars left out)")
        if not choices:
            # said as --ratings says it: one photo given stars in the page is a choice made, but no pair to learn
            raise UserError("no two photos of one folder rated, rejected or picked differently in the review page"
                            + (" under " + ", ".join(paths) if paths else "") + ": nothing to learn from")
    elif not choices and not any(s.get("source") == "review" for s in store.load(settings.catalog, name).signals):
        return 0  # nothing chosen in the page, and nothing it gave before to take back
    return _add(name, choices, "review", settings, replace=[os.path.realpath(p) for p in paths] or True, say=say)


def _add(name: str, choices: list[tuple[str, str]], source: str, settings, replace=False, say=print) -> int:
    """Add `choices` to a profile and retrain it. `replace`: the profile's signals from `source` go first (True:
    all of them; a list of folders: those of photos under them), so a choice changed since counts as it is now."""
    from keepers.core.taste import store
    from keepers.core.taste.learn import merge, train

    profile = store.load(settings.catalog, name) or store.Profile(name)
    new, before = merge(profile, choices, source, replace)
    catalog = _catalog(settings)
    try:
        used, missing = train(profile, settings, catalog)
    finally:
        catalog.close()
    store.save(settings.catalog, profile)
    if replace:
        fresh = len([c for c in new if c not in before])
        say(f"profile {name}: {fresh} new choices, {len(before - set(new))} taken back, "
            f"{used} of {len(profile.signals)} learned from")
    else:
        say(f"profile {name}: {len(new)} new choices ({len(choices) - len(new)} known already), "
            f"{used} of {len(profile.signals)} learned from")
    if missing:
        say(f"  {len(missing)} photos could not be read, e.g. {missing[0]}")
    _say(profile, settings, say)
    return 0


def _say(profile, settings, say=print) -> None:
    from keepers.core.taste.term import shifted, weight

    if profile.model is None:
        say("  not enough signals to learn from yet (2 choices at least)")
        return
    cv = "not enough signals to cross-validate (10 at least)" if profile.cv is None else \
        f"{100 * profile.cv:.0f} % of held-out choices predicted (5-fold cross-validation)"
    # said on the 1-10 scale, where a photographer reads it: the weight itself is in points per spread of the
    # profile's utility, on a softsign scale that bends toward the ends (tens of "points" that move a score by two)
    w = weight(profile)
    up, down = shifted(7.0, w, settings, sound=True), shifted(7.0, -w, settings, sound=True)
    say(f"  {cv}; a keeper scored 7.0 that your taste likes more than most (one spread) scores {up:.1f}, "
        f"one it likes less {down:.1f}")
    for line in profile.explanation:
        say(f"  - {line}")
    if not profile.explanation:  # said, not left out: the README promises what it prefers, in words
        say("  - what it prefers cannot be said in words yet: no subject or measure stands out in its choices "
            "(8 photos at least; more choices help)")


def taste_show(args, settings) -> int:
    from keepers.core.taste import store
    from keepers.core.taste.term import weight

    profile = store.load(settings.catalog, args.profile)
    if profile is None:
        raise UserError(f"no taste profile {args.profile!r}")
    if args.json:
        print(json.dumps({"profile": profile.name, "signals": len(profile.signals), "trained_on": profile.trained_on,
                          "cv_agreement": profile.cv, "weight": weight(profile), "prefers": profile.explanation,
                          "model": profile.model.params if profile.model else None}))
        return 0
    sources = sorted({s.get("source", "?").split(":", 1)[0] for s in profile.signals})
    print(f"profile {profile.name}: {len(profile.signals)} signals ({', '.join(sources) or 'none'}), "
          f"{profile.trained_on} learned from")
    _say(profile, settings)
    return 0


def taste_reset(args, settings) -> int:
    from keepers.core.taste import store

    removed = store.remove(settings.catalog, args.profile)
    print(f"profile {args.profile}: {'forgotten' if removed else 'there was none'}")
    return 0


def taste_export(args, settings) -> int:
    from keepers.core.taste import store

    profile = store.load(settings.catalog, args.profile)
    if profile is None:
        raise UserError(f"no taste profile {args.profile!r}")
    target = Path(args.file)
    if target.is_dir():  # a folder named: the profile's file in it (replacing the folder with it was a traceback)
        target = target / f"{profile.name}.json"
    if _other_than_a_profile(target):  # a photo or note named by mistake was replaced by the profile, lost
        raise UserError(f"{target} is there and is not a taste profile: not overwritten (name a new file, a profile "
                        "exported before, or a folder)")
    try:
        written = store.write_file(target, profile)
    except OSError as e:
        raise UserError(f"cannot write {target}: {e.strerror or e}") from None
    print(f"profile {profile.name}: written to {written}")
    return 0


def _other_than_a_profile(path: Path) -> bool:
    """True for a file that is there and is not a profile export (one exported before is replaced, as asked)."""
    from keepers.core.taste.store import FORMAT

    try:
        with open(path, "rb") as f:
            text = f.read()  # whole: a profile of 4,000 choices is 1.4 MB, and a part of it parses as nothing
    except OSError:  # not there (a new file), or not readable: the write says why
        return False
    try:
        return json.loads(text).get("format") != FORMAT
    except (ValueError, AttributeError):  # not JSON, cut short, or JSON of another shape
        return True


def taste_list(args, settings) -> int:
    from keepers.core.taste import store

    for name in store.names(settings.catalog):
        print(name)
    return 0


@hookimpl
def keepers_commands(subparsers, common):
    t = subparsers.add_parser("taste", help="learn your own taste from your choices (profiles stay on this machine)")
    sub = t.add_subparsers(dest="taste_command", required=True)
    i = sub.add_parser("import", help="add choices from a CSV (header preferred,other) or a profile file (.json)")
    i.add_argument("profile", metavar="PROFILE")
    i.add_argument("file", metavar="FILE", nargs="?")
    i.add_argument("--ratings", nargs="+", metavar="PATH",
                   help="your own stars, picks and rejects: folders or photos (sidecars, embedded XMP), a digiKam "
                   "database (.db) or a Lightroom catalog (.lrcat, read-only); Keepers' own ratings are left out")
    i.add_argument("--review", nargs="*", metavar="PATH",
                   help="your choices in the review page (stars, rejects, a burst's pick; of photos under PATH, "
                   "else all), read from the catalog; they replace what the page gave before")
    i.add_argument("--signals", action="store_true",
                   help="the picks, rejects and stars your program sent the daemon (\"Send my ratings and flags to "
                   "Keepers\"), read from its store beside the catalog")
    i.add_argument("--app", metavar="NAME", help="with --signals: only those of this application")
    common(i)
    i.set_defaults(func=taste_import)
    s = sub.add_parser("show", help="what a profile has learned: signals, held-out agreement, what it prefers")
    s.add_argument("profile", metavar="PROFILE")
    s.add_argument("--json", action="store_true")
    common(s)
    s.set_defaults(func=taste_show)
    r = sub.add_parser("reset", help="forget a profile and its signals")
    r.add_argument("profile", metavar="PROFILE")
    common(r)
    r.set_defaults(func=taste_reset)
    e = sub.add_parser("export", help="write a profile to a file (import it elsewhere with taste import)")
    e.add_argument("profile", metavar="PROFILE")
    e.add_argument("file", metavar="FILE.json")
    common(e)
    e.set_defaults(func=taste_export)
    ls = sub.add_parser("list", help="the profiles")
    common(ls)
    ls.set_defaults(func=taste_list)

"""`keepers eval`: measure the quality engine on held-out photos of ../shared/data (keepers.core.lab.eval does the
measuring; this module only parses its arguments and prints the result)."""

from __future__ import annotations

import json
from pathlib import Path

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl
from keepers.core.lab.eval import DATA  # numpy only, which the plugin manager has imported
from keepers.core.lab.measures import PARTS


def run(args, settings) -> int:
    data = Path(args.data) if args.data else DATA
    if not (data / "clean").is_dir():
        raise UserError(f"keepers eval needs the development data in {data} (clean/, real_defects/, eyes/)")
    from keepers.core.lab.measures import measure, report

    parts = args.only or list(PARTS)
    m = measure(data, parts, every=args.every, workers=max(1, min(2, settings.workers)),
                good_threshold=settings.good_threshold)
    print(json.dumps(m, indent=1) if args.json else report(m))
    return 0


@hookimpl
def keepers_commands(subparsers, common):
    p = subparsers.add_parser("eval", help="measure the quality engine on held-out photos of ../shared/data")
    p.add_argument("--data", help=f"the data folder (default: {DATA})")
    p.add_argument("--every", type=int, default=1, help="score every N-th test photo only (quicker, rougher)")
    p.add_argument("--only", action="append", choices=list(PARTS), metavar="PART",
                   help=f"measure only this part (repeatable; default: all of {', '.join(PARTS)}; "
                        "cross_flaw alone takes ~15 min on 2 cores)")
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=run)

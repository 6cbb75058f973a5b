"""``python -m specnorm_gan.convert SRC --from FORMAT [--preset NAME] --out DIR``."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import FORMATS, load_source
from ..pretrained import save_pretrained


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m specnorm_gan.convert",
                                     description="Convert another SNGAN library's checkpoint to a specnorm-gan pretrained folder.")
    parser.add_argument("src", help="source checkpoint file")
    parser.add_argument("--from", dest="fmt", required=True, choices=FORMATS, help="source library")
    parser.add_argument("--preset", default=None, help="target preset (when it cannot be inferred)")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    try:
        result = load_source(args.src, args.fmt, args.preset)
    except (ValueError, KeyError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    save_pretrained(result.model, args.out, source=dict(result.source, preset=result.preset, kind=result.kind))
    print(f"wrote {args.out}: {type(result.model).__name__} of preset {result.preset}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

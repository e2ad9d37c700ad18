"""Subsets DejaVu Sans to the glyphs gradrd's figures use, so that every SVG
can embed the font as a data URI (about 40 KB instead of 750 KB).

Source: matplotlib's wheel, mpl-data/fonts/ttf/DejaVuSans.ttf (DejaVu 2.x,
license in assets/fonts/LICENSE_DEJAVU). Run:

    pip download --no-deps matplotlib && unzip matplotlib-*.whl 'matplotlib/mpl-data/fonts/ttf/*'
    pip install fonttools
    python3 scripts/subset_font.py matplotlib/mpl-data/fonts/ttf/DejaVuSans.ttf assets/fonts/DejaVuSans-gradrd.ttf
"""

import sys

from fontTools import subset

# ASCII, Latin-1, Greek, general punctuation (dashes, quotes, ellipsis,
# primes), super- and subscripts, four arrows, a few mathematical operators
# (partial, sum, minus, root, proportional, infinity, almost equal, ≤, ≥).
UNICODES = "U+0020-007E,U+00A0-00FF,U+0391-03C9,U+2010-2044,U+2070-209F,U+2190-2193,U+2202,U+2211-2212,U+221A,U+221D-221E,U+2248,U+2264-2265"


def main(source: str, target: str) -> None:
    subset.main(
        [
            source,
            f"--unicodes={UNICODES}",
            "--layout-features=kern",
            "--no-hinting",
            "--name-IDs=*",
            "--desubroutinize",
            f"--output-file={target}",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

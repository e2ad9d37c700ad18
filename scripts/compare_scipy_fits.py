#!/usr/bin/env python3
"""gradrd's fits against scipy's, case by case: which fits are below scipy, and why.

Reads a scipy reference (``tests/fixtures/real/scipy_fits_real.json`` by default, written by
``scripts/ref_scipy_fits.py --real``; ``tests/fixtures/scipy_fits.json`` has the same format),
runs ``gradrd fit FILE --no-gof --format json`` with the default fit options (zeros auto, loc
free, all four families; ``--no-gof`` only skips KS/W1/W2, the fits are the same) on every file
it names, and prints, for each (file, tensor, family), gradrd's and scipy's log-likelihood, the
difference and gradrd's note. A fit passes when ``loglik >= scipy - 1e-6 * |scipy|``; a fit
below that must carry a note saying why (an unbounded likelihood and the rule applied).

    python3 scripts/compare_scipy_fits.py --gradrd target/release/gradrd
    python3 scripts/compare_scipy_fits.py --reference tests/fixtures/scipy_fits.json --all

Exit code 0 when every case passes or carries a note, 1 otherwise. ``--all`` lists every case,
not only those below scipy; ``--json FILE`` reads gradrd's output for a reference file from
FILE instead of running gradrd (repeat it, one per file; matched on the ``dump`` path).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELATIVE = 1e-6


def gradrd_fits(binary: str, file: str) -> dict:
    out = subprocess.run([binary, "fit", str(ROOT / file), "--no-gof", "--format", "json"],
                         check=False, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"gradrd fit {file} failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def by_case(report: dict) -> dict:
    """(tensor, family) -> the family's entry (or {'error': ...})."""
    found = {}
    for result in report["results"]:
        for fitted in result["fits"]:
            found[(result["tensor"], fitted["family"])] = fitted
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradrd", default=str(ROOT / "target" / "release" / "gradrd"))
    parser.add_argument("--reference", default=str(ROOT / "tests/fixtures/real/scipy_fits_real.json"))
    parser.add_argument("--json", action="append", default=[], help="gradrd fit JSON of one file")
    parser.add_argument("--all", action="store_true", help="list every case")
    args = parser.parse_args()
    reference = json.loads(Path(args.reference).read_text())
    cases = [c for c in reference["cases"] if c["family"] != "gennorm_with_zeros"]
    given = {}
    for path in args.json:
        report = json.loads(Path(path).read_text())
        given[str(Path(report["dump"]).resolve())] = report
    reports = {}
    for file in sorted({c["file"] for c in cases}):
        report = given.get(str((ROOT / file).resolve()))
        reports[file] = by_case(report if report is not None else gradrd_fits(args.gradrd, file))

    rows, failing = [], 0
    passed, noted = defaultdict(int), defaultdict(int)
    worst = (0.0, None)
    for c in cases:
        ours = reports[c["file"]].get((c["tensor"], c["family"]))
        scipy_ll = c["loglik"]
        if scipy_ll is None:
            # scipy's location landed on a data value with c < 1 (an infinite log-likelihood).
            noted[c["family"]] += 1
            rows.append((c, ours.get("loglik") if ours else None, None, "scipy's loglik is infinite"))
            continue
        if ours is None or "loglik" not in ours:
            rows.append((c, None, None, (ours or {}).get("error", "no fit")))
            failing += 1
            continue
        diff = ours["loglik"] - scipy_ll
        note = ours.get("note")
        ok = diff >= -RELATIVE * abs(scipy_ll)
        family = c["family"]
        if ok:
            passed[family] += 1
        elif note:
            noted[family] += 1
        else:
            failing += 1
        if not ok and diff < worst[0]:
            worst = (diff, c)
        if args.all or not ok:
            rows.append((c, ours["loglik"], diff, note))

    rows.sort(key=lambda r: (r[2] if r[2] is not None else -float("inf")))
    print(f"{'file':24} {'tensor':28} {'family':8} {'n':>7} {'gradrd':>15} {'scipy':>15} {'diff':>10}  note")
    for c, ours, diff, note in rows:
        file = Path(c["file"]).name
        ours_text = f"{ours:15.4f}" if ours is not None else f"{'-':>15}"
        diff_text = f"{diff:10.4g}" if diff is not None else f"{'-':>10}"
        short = (note[:70] + "…") if note and len(note) > 71 else (note or "")
        scipy_text = f"{c['loglik']:15.4f}" if c["loglik"] is not None else f"{'-':>15}"
        print(f"{file:24} {c['tensor']:28} {c['family']:8} {c['n_fitted']:7d} {ours_text} "
              f"{scipy_text} {diff_text}  {short}")
    total = len(cases)
    print()
    for family in sorted({c["family"] for c in cases}):
        count = sum(1 for c in cases if c["family"] == family)
        print(f"{family:9} {passed[family]:4d} of {count} >= scipy - 1e-6 relative, "
              f"{noted[family]} below with a note")
    print(f"all       {sum(passed.values()):4d} of {total} >= scipy - 1e-6 relative, "
          f"{sum(noted.values())} below with a note (or scipy infinite), {failing} below without one")
    if worst[1] is not None:
        c = worst[1]
        print(f"worst deficit {worst[0]:.4g} nats: {Path(c['file']).name} {c['tensor']} {c['family']}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())

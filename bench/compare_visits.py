"""Page by page, two checkouts' first-visit CPU from ``bench/first_visits.py``: which views got slower.

    python bench/compare_visits.py before-1.json,before-2.json after-1.json,after-2.json

Each side's figure for a page and view is the fastest of its runs (noise on a shared machine only ever adds time).
Prints one line per page and view (before, after, difference in ms) and the number of views that got slower.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def fastest(paths: list[Path]) -> dict[tuple[str, str], float]:
    """{(view, page): the fastest of the runs' seconds} over pages present in every run."""
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    return {
        (view, page): min(run[view][page] for run in runs)
        for view in runs[0]
        for page in runs[0][view]
        if all(page in run.get(view, {}) for run in runs)
    }


def main(argv: list[str] | None = None) -> int:
    """Print the comparison; the exit status is the number of views that got slower (0: none)."""
    parser = argparse.ArgumentParser(description="Which page views got slower between two first_visits runs.")
    parser.add_argument("before", help="comma-separated JSON files of the older checkout")
    parser.add_argument("after", help="comma-separated JSON files of the newer checkout")
    args = parser.parse_args(argv)
    before = fastest([Path(name) for name in args.before.split(",")])
    after = fastest([Path(name) for name in args.after.split(",")])
    both = sorted(set(before) & set(after))
    slower = 0
    print(f"{'view':<15} {'page':<15} {'before ms':>9} {'after ms':>9} {'change':>8}")
    for key in both:
        change = (after[key] - before[key]) * 1000
        slower += change > 0
        flag = "  slower" if change > 0 else ""
        print(f"{key[0]:<15} {key[1]:<15} {before[key] * 1000:9.2f} {after[key] * 1000:9.2f} {change:+8.2f}{flag}")
    print(f"{slower} of {len(both)} views slower")
    return min(slower, 100)


if __name__ == "__main__":
    raise SystemExit(main())

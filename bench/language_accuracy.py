"""Language detection on short reviews, without and with the company's languages as a prior.

    python bench/language_accuracy.py [--misses]

Reads ``bench/data/short_reviews.jsonl``: short reviews (3 to 15 words) in sv da no nl de en
fi fr es, each with its language and the languages of the company it was written to. English
reviews are mostly sent to companies that have not chosen English: a prior that forced them into
the company's language would show here as a drop for ``en``.

"Before" is how a review was detected when stored without a language hint until now;
"after" is the same call given the company's languages (what storing a review does now).
A review counts as right only when the detected language is its own: undetermined is wrong.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from reply_assist.drafting.language import detect_language, ensure_loaded

DATA = Path(__file__).resolve().parent / "data" / "short_reviews.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="list every review read wrong")
    args = parser.parse_args()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    ensure_loaded()
    right: dict[str, dict[str, int]] = {"before": defaultdict(int), "after": defaultdict(int)}
    total: dict[str, int] = defaultdict(int)
    seconds = {"before": 0.0, "after": 0.0}
    misses: list[str] = []
    for row in rows:
        expected = row["language"]
        total[expected] += 1
        for mode, prior in (("before", ()), ("after", tuple(row["company_languages"]))):
            started = time.perf_counter()
            got = detect_language(row["text"], prior).language
            seconds[mode] += time.perf_counter() - started
            if got == expected:
                right[mode][expected] += 1
            elif args.misses:
                misses.append(f"  {mode:6} {expected} -> {got}  {row['text']!r} {prior}")
    n = len(rows)
    print(f"{n} short reviews ({DATA.name})")
    print(f"{'language':10}{'reviews':>8}{'before':>10}{'after':>10}")
    for language in sorted(total):
        before, after = right["before"][language], right["after"][language]
        print(f"{language:10}{total[language]:>8}{before:>10}{after:>10}")
    before, after = sum(right["before"].values()), sum(right["after"].values())
    print(f"{'all':10}{n:>8}{before:>10}{after:>10}")
    print(f"accuracy: before {before / n:.1%}, after {after / n:.1%}")
    print(
        f"mean time a call: before {seconds['before'] / n * 1000:.2f} ms, "
        f"after {seconds['after'] / n * 1000:.2f} ms"
    )
    if misses:
        print("misses:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()

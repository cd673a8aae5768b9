"""Precision and recall of the draft's link, e-mail and phone checks on a labelled set.

``python bench/contacts.py`` reads ``tests/data/contact_cases.jsonl`` (draft sentences, each with
the company settings it is checked against and the warnings it must get) and prints, per
warning, precision and recall of the checks as they were before issue 11 item 19 (the regexes
below, kept verbatim for this comparison) and as they are now (``reply_assist.checks.contacts``).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reply_assist.checks.contacts import unconfigured

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "contact_cases.jsonl"
KINDS = ("url_not_allowed", "email_not_allowed", "phone_not_allowed")

# The checks before: services/safety.py at commit dc775af.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s.\-()/]*\d){6,}(?!\w)")
_URL = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|co|se|nl|de|dk|no|fi|fr|es|eu|uk|info|biz|be|at|ch)\b"
    r"(?:/\S*)?",
    re.IGNORECASE,
)


def before(text: str, settings: str, language: str) -> set[str]:
    allowed = settings.lower()
    found: set[str] = set()
    emails = _EMAIL.findall(text) if "@" in text else []
    without_emails = _EMAIL.sub(" ", text) if emails else text
    if any(u.lower().rstrip(".,;:!?)") not in allowed for u in _URL.findall(without_emails)):
        found.add("url_not_allowed")
    if any(e.lower() not in allowed for e in emails):
        found.add("email_not_allowed")
    if any(p not in allowed for p in _PHONE.findall(text)):
        found.add("phone_not_allowed")
    return found


def after(text: str, settings: str, language: str) -> set[str]:
    kinds = unconfigured(text, settings_text=settings, languages=[language])
    return {f"{kind}_not_allowed" for kind in kinds}


def load_cases(path: Path = CASES) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def score(
    check: Callable[[str, str, str], set[str]], cases: list[dict[str, object]]
) -> dict[str, tuple[float, float, int, int, int]]:
    """Per warning (and "all"): precision, recall, true positives, false positives, misses."""
    counts = {kind: [0, 0, 0] for kind in (*KINDS, "all")}
    for case in cases:
        settings = " ".join(str(case.get(k) or "") for k in ("name", "signature", "brand_voice"))
        got = check(str(case["text"]), settings, str(case["language"]))
        expected = set(case["expect"])  # type: ignore[call-overload]
        for kind in KINDS:
            hit = (kind in got, kind in expected)
            index = {(True, True): 0, (True, False): 1, (False, True): 2}.get(hit)
            if index is not None:
                counts[kind][index] += 1
                counts["all"][index] += 1
    out = {}
    for kind, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        out[kind] = (precision, recall, tp, fp, fn)
    return out


def main() -> None:
    cases = load_cases()
    positives = sum(1 for c in cases if c["expect"])
    print(
        f"{len(cases)} labelled strings: {positives} with a contact to flag, "
        f"{len(cases) - positives} without\n"
    )
    print(
        f"{'warning':<20} {'before P':>9} {'before R':>9} {'after P':>9} {'after R':>9}"
        f"   after tp/fp/fn"
    )
    old, new = score(before, cases), score(after, cases)
    for kind in (*KINDS, "all"):
        (p0, r0, *_), (p1, r1, tp, fp, fn) = old[kind], new[kind]
        print(f"{kind:<20} {p0:>9.2f} {r0:>9.2f} {p1:>9.2f} {r1:>9.2f}   {tp}/{fp}/{fn}")
    if "-v" in sys.argv:
        for case in cases:
            settings = " ".join(str(case.get(k) or "") for k in ("signature", "brand_voice"))
            got = after(str(case["text"]), settings, str(case["language"]))
            if got != set(case["expect"]):  # type: ignore[call-overload]
                print("wrong:", case["text"], sorted(got), case["expect"])


if __name__ == "__main__":
    main()

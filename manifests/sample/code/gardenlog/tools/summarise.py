"""Export a gardenlog journal as CSV rows (date, action, crop, bed, qty) for spreadsheets."""

import csv
import sys
from collections import Counter

from textutil import slugify

ACTIONS = {"sow", "plant", "harvest", "note"}
FIELDS = ["date", "action", "crop", "bed", "qty"]


def parse_line(line):
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    words = line.split()
    if len(words) < 3 or words[1] not in ACTIONS:
        raise ValueError(f"not a journal line: {line!r}")
    row = {"date": words[0], "action": words[1], "crop": slugify(words[2]), "bed": "", "qty": ""}
    for word in words[3:]:
        key, _, value = word.partition("=")
        if key not in ("bed", "qty") or not value.isdigit():
            raise ValueError(f"bad field {word!r} in {line!r}")
        row[key] = value
    return row


def main(argv):
    if len(argv) != 2:
        print("usage: summarise.py JOURNAL.txt", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        rows = [r for r in (parse_line(line) for line in f) if r]
    writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    per_month = Counter(r["date"][:7] for r in rows)
    for month, n in sorted(per_month.items()):
        print(f"# {month}: {n} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

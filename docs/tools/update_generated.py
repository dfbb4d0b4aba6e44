#!/usr/bin/env python3
"""Rewrite the generated parts of the docs (`make docs`).

usage: update_generated.py HEARTHD [--check]

docs/config.md: the text between the GENERATED CONFIG REFERENCE markers is
replaced by `HEARTHD --print-config-reference`. With --check nothing is
written; the exit status is 1 when a file is out of date.
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN GENERATED CONFIG REFERENCE"
END = "<!-- END GENERATED CONFIG REFERENCE -->"


def splice(text, generated, name):
    b = text.find(BEGIN)
    e = text.find(END)
    if b < 0 or e < 0 or e < b:
        sys.exit(f"{name}: the markers '{BEGIN} ...' and '{END}' are missing")
    b = text.index("\n", b) + 1
    return text[:b] + "\n" + generated + "\n" + text[e:]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    hearthd, check = sys.argv[1], "--check" in sys.argv[2:]
    generated = subprocess.run([hearthd, "--print-config-reference"], check=True,
                               capture_output=True, text=True).stdout
    path = ROOT / "docs" / "config.md"
    old = path.read_text()
    new = splice(old, generated, path)
    if new == old:
        print(f"{path.relative_to(ROOT)}: up to date")
        return 0
    if check:
        print(f"{path.relative_to(ROOT)}: out of date; run `make docs`")
        return 1
    path.write_text(new)
    print(f"{path.relative_to(ROOT)}: rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())

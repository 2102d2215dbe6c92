"""Writes resources/emoji-groups.txt, the emoji picker's categories and order, from
Unicode's emoji-test.txt (Debian: /usr/share/unicode/emoji/emoji-test.txt in the
unicode-data package):

    python3 packaging/make_emoji_groups.py /usr/share/unicode/emoji/emoji-test.txt

Only fully-qualified emoji, without the skin-tone variants (the picker offers the
default) and without the Component group (skin tones and hair styles alone). Names and
shortcodes come from the ``emoji`` package at run time; this file only groups and
orders. Debian 12's emoji-test.txt is Emoji 15.0, which Debian 12's Noto Color Emoji
draws in full."""

from __future__ import annotations

import sys
from pathlib import Path

TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}


def main(source: Path, target: Path) -> None:
    version = ""
    groups: dict[str, list[str]] = {}
    group = ""
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("# Version:"):
            version = line.split(":", 1)[1].strip()
        elif line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif group and group != "Component" and "; fully-qualified" in line:
            codes = line.split(";", 1)[0].split()
            char = "".join(chr(int(code, 16)) for code in codes)
            if not TONES & set(char):
                groups.setdefault(group, []).append(char)
    out = [f"# Emoji {version} groups from Unicode's emoji-test.txt; made by {Path(__file__).name}"]
    for name, chars in groups.items():
        out.append(f"@{name}")
        out.append(" ".join(chars))
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{target}: {sum(map(len, groups.values()))} emoji in {len(groups)} groups")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    main(Path(sys.argv[1]), here / "resources" / "emoji-groups.txt")

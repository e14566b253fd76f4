"""Writing a benchmark's results into a section of a markdown file, leaving the other sections alone."""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"<!-- (\S+):start -->.*?<!-- \1:end -->", re.S)


def write_section(out: Path, name: str, section: str) -> None:
    """Replace the text between `<!-- name:start -->` and `<!-- name:end -->` in `out` with `section` (markers
    included), or append it; everything else in the file is kept."""
    start_marker, end_marker = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start_marker}\n{section.strip()}\n{end_marker}"
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    start, end = text.find(start_marker), text.find(end_marker)
    if 0 <= start < end:
        text = text[:start] + section + text[end + len(end_marker):]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


def sections(out: Path) -> list[str]:
    """The marked sections (`write_section`) of `out`, markers included: what a report that rewrites the whole
    file (`bench.quality`) carries over so that other benchmarks' results stay."""
    return [m.group(0) for m in _SECTION.finditer(out.read_text(encoding="utf-8"))] if out.exists() else []

"""Shared by the benchmark scripts: read and rewrite one marked section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def read_section(name: str) -> str | None:
    """The text between ``<!-- name:start -->`` and ``<!-- name:end -->``, or None."""
    text = DOC.read_text() if DOC.exists() else ""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    return text.split(start)[1].split(end)[0] if start in text else None


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``name`` with ``body`` between its markers."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n{body.strip()}\n{end}"
    if start in text:
        text = text.split(start)[0] + section + text.split(end)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)
    print(f"wrote {DOC}")

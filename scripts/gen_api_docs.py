#!/usr/bin/env python3
"""Writes docs/api.md from the SDK's code (every method, its HTTP path and docstring).
With --check, exits non-zero when the file is not current instead of writing it."""

from __future__ import annotations

import sys
from pathlib import Path

from claystack.client._docs import render

TARGET = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date; run scripts/gen_api_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

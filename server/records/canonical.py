"""Canonical serialisation and hashing of sealed records.

The same document always gives the same bytes, whatever produced it: keys sorted, no
spaces, UTF-8, floats written with exactly three decimals, non-finite numbers refused.
The hash of a record is SHA-256 over `previous_hash + "\\n" + document` (docs/records.md
shows how to check it with standard tools).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of a cooperative's first record
DECIMALS = 3


def _write(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a sealed record cannot hold a non-finite number")
        text = f"{value:.{DECIMALS}f}"
        out.append("0.000" if text == "-0.000" else text)
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(sorted(value)):
            if not isinstance(key, str):
                raise TypeError(f"document keys are strings, not {type(key).__name__}")
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot put a {type(value).__name__} in a sealed record")


def dumps(document: Any) -> str:
    out: list[str] = []
    _write(document, out)
    return "".join(out)


def record_hash(previous_hash: str, document: str) -> str:
    return hashlib.sha256(f"{previous_hash}\n{document}".encode()).hexdigest()

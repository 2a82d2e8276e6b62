"""Line framing for probes cabled by USB (docs/protocol.md, "Serial transport").

A probe with no WiFi sends the same payloads as MQTT, one per line, and reads the
gateway's acknowledgements back, so its flash queue works exactly as with a broker:

    probe   -> gateway   UP <mid> <kind> <json>*<crc>      kind: readings | status
    gateway -> probe     ACK <mid>                          durable on the gateway side
    gateway -> probe     REJ <mid> <reason>                 rejected, kept in quarantine
    gateway -> probe     DOWN <kind> <json>*<crc>           kind: config | alarm

`<mid>` is 1..65535 as in MQTT; `<crc>` is the CRC-32 (binascii.crc32, as MicroPython
has it) of everything before the `*`, in 8 lowercase hex digits. Lines end with "\\n"
("\\r\\n" accepted). Anything else on the port (REPL banners, tracebacks) is noise:
counted and kept, never fatal. The firmware's copy is firmware/esp32/serial_link.py.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from coldchain.protocol import MAX_PAYLOAD_BYTES, Reason

MAX_LINE_BYTES: Final = MAX_PAYLOAD_BYTES + 64


class LineError(StrEnum):
    TOO_LONG = "line_too_long"
    NOISE = "not_a_frame"
    BAD_MID = "invalid_message_id"
    BAD_KIND = "invalid_kind"
    BAD_CRC = "crc_mismatch"


@dataclass(frozen=True, slots=True)
class UpFrame:
    mid: int
    kind: str  # "readings" | "status"
    payload: bytes


@dataclass(frozen=True, slots=True)
class AckFrame:
    mid: int


@dataclass(frozen=True, slots=True)
class RejFrame:
    mid: int
    reason: str


@dataclass(frozen=True, slots=True)
class DownFrame:
    kind: str  # "config" | "alarm"
    payload: bytes


@dataclass(frozen=True, slots=True)
class BadLine:
    error: LineError
    line: bytes


UP_KINDS: Final = frozenset({"readings", "status"})
DOWN_KINDS: Final = frozenset({"config", "alarm"})


def _crc(data: bytes) -> bytes:
    return b"%08x" % (binascii.crc32(data) & 0xFFFFFFFF)


def _signed_fields(line: bytes, count: int) -> list[bytes] | BadLine:
    """The `count` space-separated fields before the `*<crc>` of an UP or DOWN line, the
    last one the payload, spaces and all; or why the line is refused."""
    head, star, crc = line.rpartition(b"*")
    if not star or _crc(head) != crc:
        return BadLine(LineError.BAD_CRC, line)
    parts = head.split(b" ", count - 1)
    return parts if len(parts) == count else BadLine(LineError.NOISE, line)


def _kind(token: bytes, kinds: frozenset[str]) -> str | None:
    kind = token.decode("ascii", "replace")
    return kind if kind in kinds else None


def _mid(token: bytes) -> int | None:
    if not token.isdigit() or len(token) > 5:
        return None
    mid = int(token)
    return mid if 1 <= mid <= 65535 else None


def _signed(head: bytes) -> bytes:
    return head + b"*" + _crc(head) + b"\n"


def encode_up(mid: int, kind: str, payload: bytes) -> bytes:
    return _signed(b"UP %d %s %s" % (mid, kind.encode(), payload))


def encode_down(kind: str, payload: bytes) -> bytes:
    return _signed(b"DOWN %s %s" % (kind.encode(), payload))


def encode_ack(mid: int) -> bytes:
    return b"ACK %d\n" % mid


def encode_rej(mid: int, reason: Reason | str) -> bytes:
    return b"REJ %d %s\n" % (mid, str(reason).encode())


def parse_line(raw: bytes) -> UpFrame | AckFrame | RejFrame | DownFrame | BadLine:
    """Parse one line (without or with its line ending). Never raises."""
    line = raw.rstrip(b"\r\n")
    if len(line) > MAX_LINE_BYTES:
        return BadLine(LineError.TOO_LONG, line[:256])
    verb, _, rest = line.partition(b" ")
    if verb == b"UP":
        parts = _signed_fields(line, 4)
        if isinstance(parts, BadLine):
            return parts
        mid = _mid(parts[1])
        if mid is None:
            return BadLine(LineError.BAD_MID, line)
        kind = _kind(parts[2], UP_KINDS)
        return BadLine(LineError.BAD_KIND, line) if kind is None else UpFrame(mid, kind, parts[3])
    if verb == b"DOWN":
        parts = _signed_fields(line, 3)
        if isinstance(parts, BadLine):
            return parts
        kind = _kind(parts[1], DOWN_KINDS)
        return BadLine(LineError.BAD_KIND, line) if kind is None else DownFrame(kind, parts[2])
    if verb in (b"ACK", b"REJ"):
        token, _, reason = rest.partition(b" ")
        mid = _mid(token)
        if mid is None:
            return BadLine(LineError.BAD_MID, line)
        if verb == b"ACK":
            return AckFrame(mid) if not reason else BadLine(LineError.NOISE, line)
        return RejFrame(mid, reason.decode("ascii", "replace")[:64])
    return BadLine(LineError.NOISE, line)

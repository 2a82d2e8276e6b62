# USB serial transport: the same payloads as MQTT, one per line (coldchain/serial_framing.py):
#   probe -> gateway   UP <mid> <kind> <json>*<crc32 hex>
#   gateway -> probe   ACK <mid> | REJ <mid> <reason> | DOWN <kind> <json>*<crc32 hex>
# Same interface as mqtt.MQTTLink (up, send, on_down), so the flash queue works unchanged:
# a reading leaves flash only after ACK, or after REJ (the gateway keeps the rejected message
# in quarantine, resending it would only be rejected again).
import asyncio
import binascii
import time

import contract

MAX_LINE = contract.MAX_PAYLOAD_BYTES + 64
UP_KINDS = ("readings", "status")
DOWN_KINDS = ("config", "alarm")


def crc_hex(data):
    return b"%08x" % (binascii.crc32(data) & 0xFFFFFFFF)


def encode_up(mid, kind, payload):
    # payload: bytes, or the uplink's memoryview (which "%s" would print as <memoryview>)
    head = b"UP %d %s " % (mid, kind.encode()) + payload
    return head + b"*" + crc_hex(head) + b"\n"


def _mid(token):
    if not token or len(token) > 5 or not token.isdigit():
        return None
    mid = int(token)
    return mid if 1 <= mid <= 65535 else None


def parse_line(line):
    """bytes without newline -> ("ack", mid) | ("rej", mid, reason) | ("down", kind, payload)
    | ("up", mid, kind, payload) | ("bad", error). Never raises; errors as in serial_framing."""
    if len(line) > MAX_LINE:
        return ("bad", "line_too_long")
    verb, _, rest = line.partition(b" ")
    if verb in (b"UP", b"DOWN"):
        head, star, crc = line.rpartition(b"*")
        if not star or crc_hex(head) != crc:
            return ("bad", "crc_mismatch")
        if verb == b"UP":
            parts = head.split(b" ", 3)
            if len(parts) != 4:
                return ("bad", "not_a_frame")
            mid = _mid(parts[1])
            if mid is None:
                return ("bad", "invalid_message_id")
            kind = str(parts[2], "ascii") if parts[2].isalpha() else ""
            if kind not in UP_KINDS:
                return ("bad", "invalid_kind")
            return ("up", mid, kind, parts[3])
        parts = head.split(b" ", 2)
        if len(parts) != 3:
            return ("bad", "not_a_frame")
        kind = str(parts[1], "ascii") if parts[1].isalpha() else ""
        if kind not in DOWN_KINDS:
            return ("bad", "invalid_kind")
        return ("down", kind, parts[2])
    if verb in (b"ACK", b"REJ"):
        token, _, reason = rest.partition(b" ")
        mid = _mid(token)
        if mid is None:
            return ("bad", "invalid_message_id")
        if verb == b"ACK":
            return ("ack", mid) if not reason else ("bad", "not_a_frame")
        return ("rej", mid, str(reason[:64], "ascii"))
    return ("bad", "not_a_frame")


class SerialLink:
    def __init__(self, port, on_down, on_connect, log, response_s=10):
        self.port = port  # board port: read_available() -> bytes or None, write(bytes)
        self.on_down = on_down
        self.on_connect = on_connect
        self.log = log
        self.response_s = response_s
        self.up = False
        self._mid = 0
        self._replies = {}  # mid -> "ack" | reason
        self._line = bytearray()
        self._skipping = False
        self.noise = 0  # REPL banners, tracebacks, torn lines: counted, never fatal
        self.rejected = 0
        self.last_noise = b""

    async def run(self):
        self.up = True
        self.on_connect()
        while True:
            data = self.port.read_available()
            if not data:
                await asyncio.sleep_ms(20)
                continue
            for b in data:
                if b == 10:  # "\n"
                    if not self._skipping:
                        self._handle(bytes(self._line).rstrip(b"\r"))
                    self._line = bytearray()
                    self._skipping = False
                elif not self._skipping:
                    self._line.append(b)
                    if len(self._line) > MAX_LINE:
                        # Oversize: drop the rest of this line instead of growing the heap.
                        self.noise += 1
                        self._skipping = True
                        self._line = bytearray()

    def _handle(self, line):
        if not line:
            return
        frame = parse_line(line)
        tag = frame[0]
        if tag == "ack":
            self._replies[frame[1]] = "ack"
        elif tag == "rej":
            self._replies[frame[1]] = frame[2] or "rejected"
        elif tag == "down":
            try:
                self.on_down(frame[1], frame[2])
            except Exception as e:  # noqa: BLE001 - a bad downlink never stops the link
                self.log("downlink handler: %r" % (e,))
        else:
            self.noise += 1
            self.last_noise = line[:80]

    async def send(self, kind, payload):
        self._mid = self._mid % 65535 + 1
        mid = self._mid
        self._replies.pop(mid, None)
        try:
            self.port.write(encode_up(mid, kind, payload))
        except OSError as e:
            self.log("serial write failed: %r" % (e,))
            return False
        deadline = time.ticks_add(time.ticks_ms(), self.response_s * 1000)
        while mid not in self._replies:
            if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                return False  # no gateway listening: keep it in flash, try again later
            await asyncio.sleep_ms(10)
        reply = self._replies.pop(mid)
        if reply != "ack":
            self.rejected += 1
            self.log("gateway rejected %s message %d: %s" % (kind, mid, reply))
        return True

# The probe side of the contract in coldchain/protocol.py (docs/protocol.md).
# Same limits, same payload shapes, same verdicts on down/config and down/alarm:
# tests/firmware/test_contract.py runs tests/vectors/*.json through this module on MicroPython.
# MicroPython's json is laxer than CPython's (no duplicate-key check, NaN is a plain syntax
# error, 1e999 parses to inf), so decode_json() scans the text first to reach the same codes.
import json

VERSION = 1
TOPIC_ROOT = "cc/v1/dev"
MAX_PAYLOAD_BYTES = 16384
MAX_READINGS_PER_MESSAGE = 200
MAX_ALARM_TEXT_CHARS = 64
EARLIEST_TIME_MS = 1577836800000  # 2020-01-01T00:00:00Z
EARLIEST_TIME_S = 1577836800
MIN_INTERVAL_S = 10
MAX_INTERVAL_S = 300
MAX_ALARM_DELAY_S = 86400
MAX_CALIBRATION_OFFSET = 5.0
MAX_JSON_DEPTH = 4

# Channel and fault codes are the record format in flash (fsqueue.py): append only, never renumber.
CHANNELS = ("air", "product", "humidity", "door", "battery")
RANGES = ((-55.0, 85.0), (-55.0, 85.0), (0.0, 100.0), (0.0, 1.0), (0.0, 36.0))
TEMPERATURE = ("air", "product")
FAULTS = (
    None,
    "power_on_value",
    "disconnected",
    "crc_error",
    "i2c_nack",
    "out_of_range",
    "not_ready",
)


def channel_code(name):
    return CHANNELS.index(name)


def fault_code(name):
    return FAULTS.index(name)


def valid_probe_id(probe_id):
    """[a-z0-9][a-z0-9-]{0,31}, as coldchain.protocol.PROBE_ID_RE."""
    if not isinstance(probe_id, str) or not 1 <= len(probe_id) <= 32 or probe_id[0] == "-":
        return False
    return all("a" <= c <= "z" or "0" <= c <= "9" or c == "-" for c in probe_id)


def topic(probe_id, kind):
    return TOPIC_ROOT + "/" + probe_id + "/" + kind


class Rejected(Exception):
    # reason is one of coldchain.protocol.Reason's values
    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _scan(text):
    # One pass over the raw text: nesting depth, duplicate keys, bare NaN/Infinity.
    stack = []  # per open bracket: None for a list, [keys, expecting_key] for an object
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n:
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == '"':
                    break
                j += 1
            top = stack[-1] if stack else None
            if top is not None and top[1]:
                key = text[i + 1 : j]
                if key in top[0]:
                    raise Rejected("duplicate_key", "an object repeats a key")
                top[0].add(key)
                top[1] = False
            i = j + 1
            continue
        if ch == "{" or ch == "[":
            if len(stack) >= MAX_JSON_DEPTH:
                raise Rejected("too_deep", "nesting deeper than %d" % MAX_JSON_DEPTH)
            stack.append([set(), True] if ch == "{" else None)
        elif ch == "}" or ch == "]":
            if stack:
                stack.pop()
        elif ch == ",":
            if stack and stack[-1] is not None:
                stack[-1][1] = True
        elif text.startswith("NaN", i) or text.startswith("Infinity", i):
            raise Rejected("non_finite_number", "NaN or Infinity is not a number")
        i += 1


def _check_numbers(obj):
    # CPython's parser refuses 1e999 and 21-digit integers; MicroPython's accepts them.
    if isinstance(obj, dict):
        for v in obj.values():
            _check_numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            _check_numbers(v)
    elif isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise Rejected("non_finite_number", "number overflows to infinity")
    elif isinstance(obj, int) and not isinstance(obj, bool):
        if obj >= 10**20 or obj <= -(10**20):
            raise Rejected("value_out_of_range", "integer too large")


def decode_json(payload):
    """bytes/str -> dict, or raise Rejected with the contract's reason code."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected("payload_too_large", "%d bytes > %d" % (len(payload), MAX_PAYLOAD_BYTES))
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            text = str(bytes(payload), "utf-8")
        except UnicodeError:
            raise Rejected("not_utf8", "invalid UTF-8")
    else:
        text = payload
    if text.startswith("\ufeff"):
        raise Rejected("invalid_json", "byte-order mark before JSON")
    _scan(text)
    try:
        obj = json.loads(text)
    except ValueError:
        raise Rejected("invalid_json", "syntax error in JSON")
    if not isinstance(obj, dict):
        raise Rejected("not_an_object", "payload is not a JSON object")
    _check_numbers(obj)
    return obj


def _is_bool(v):
    return v is True or v is False


def _is_int(v):
    return isinstance(v, int) and not _is_bool(v)


def _is_number(v):
    return isinstance(v, (int, float)) and not _is_bool(v)


def _check_keys(obj, required, optional, where):
    for k in sorted(required):
        if k not in obj:
            raise Rejected("missing_field", "%s: missing %r" % (where, k))
    for k in sorted(obj):
        if k not in required and k not in optional:
            raise Rejected("unknown_field", "%s: unknown %r" % (where, k[:32]))


def _version(obj):
    if "v" not in obj:
        raise Rejected("missing_field", "missing 'v'")
    if obj["v"] != VERSION or not _is_int(obj["v"]):
        raise Rejected("unsupported_version", "protocol version %r" % (obj["v"],))


def _int(obj, key, where, low, high, reason):
    v = obj[key]
    if not _is_int(v):
        raise Rejected("wrong_type", "%s.%s must be an integer" % (where, key))
    if not low <= v <= high:
        raise Rejected(reason, "%s.%s=%d outside [%d, %d]" % (where, key, v, low, high))
    return v


def _opt_number(obj, key, where):
    v = obj.get(key)
    if v is None:
        return None
    if not _is_number(v):
        raise Rejected("wrong_type", "%s.%s must be a number" % (where, key))
    return float(v)


def parse_config(payload):
    """down/config -> dict(interval, alarm{ch: (high, low, delay)}, offsets{ch: x}, door_max).

    Same rules as coldchain.protocol.parse_config; raises Rejected."""
    obj = decode_json(payload)
    _version(obj)
    _check_keys(obj, ("v", "interval"), ("alarm", "offsets", "door_max"), "config")
    interval = _int(obj, "interval", "config", MIN_INTERVAL_S, MAX_INTERVAL_S, "invalid_setting")
    alarms = {}
    raw_alarms = obj.get("alarm", {})
    if not isinstance(raw_alarms, dict):
        raise Rejected("wrong_type", "config.alarm must be an object")
    for ch in raw_alarms:
        raw = raw_alarms[ch]
        where = "config.alarm." + ch[:32]
        if ch not in CHANNELS:
            raise Rejected("unknown_channel", where + ": unknown channel")
        if not isinstance(raw, dict):
            raise Rejected("wrong_type", where + " must be an object")
        _check_keys(raw, ("delay",), ("high", "low"), where)
        high = _opt_number(raw, "high", where)
        low = _opt_number(raw, "low", where)
        if high is None and low is None:
            raise Rejected("invalid_setting", where + " needs 'high' or 'low'")
        if high is not None and low is not None and low >= high:
            raise Rejected("invalid_setting", where + ": low must be below high")
        delay = _int(raw, "delay", where, 0, MAX_ALARM_DELAY_S, "invalid_setting")
        alarms[ch] = (high, low, delay)
    offsets = {}
    raw_offsets = obj.get("offsets", {})
    if not isinstance(raw_offsets, dict):
        raise Rejected("wrong_type", "config.offsets must be an object")
    for ch in raw_offsets:
        if ch not in TEMPERATURE and ch != "humidity":
            raise Rejected("unknown_channel", "config.offsets." + ch[:32])
        v = raw_offsets[ch]
        if not _is_number(v):
            raise Rejected("wrong_type", "config.offsets.%s must be a number" % ch)
        if abs(v) > MAX_CALIBRATION_OFFSET:
            raise Rejected("invalid_setting", "config.offsets.%s beyond 5" % ch)
        offsets[ch] = float(v)
    door_max = None
    if obj.get("door_max") is not None:
        door_max = _int(obj, "door_max", "config", 10, MAX_ALARM_DELAY_S, "invalid_setting")
    return {"interval": interval, "alarm": alarms, "offsets": offsets, "door_max": door_max}


def parse_alarm(payload):
    """down/alarm -> (on, text, alert_id, ring); same rules as coldchain.protocol.parse_alarm.
    ring False: show the text without sounding the buzzer (a warning)."""
    obj = decode_json(payload)
    _version(obj)
    _check_keys(obj, ("v", "on"), ("text", "alert", "ring"), "alarm")
    on = obj["on"]
    if not _is_bool(on):
        raise Rejected("wrong_type", "alarm.on must be true or false")
    ring = obj.get("ring", True)
    if not _is_bool(ring):
        raise Rejected("wrong_type", "alarm.ring must be true or false")
    text = obj.get("text", "")
    if not isinstance(text, str):
        raise Rejected("wrong_type", "alarm.text must be a string")
    if len(text) > MAX_ALARM_TEXT_CHARS:
        raise Rejected("text_too_long", "alarm.text over %d chars" % MAX_ALARM_TEXT_CHARS)
    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise Rejected("invalid_setting", "alarm.text has control characters")
    alert = obj.get("alert")
    if alert is not None and not isinstance(alert, str):
        raise Rejected("wrong_type", "alarm.alert must be a string")
    return on, text, (alert[:64] if alert is not None else None), ring


# --- Encoding (probe -> server) --------------------------------------------------------------


def fmt_centi(c):
    """Centi-units (int) -> shortest exact JSON number: 350 -> 3.5, -2125 -> -21.25, 100 -> 1."""
    sign = "-" if c < 0 else ""
    c = -c if c < 0 else c
    whole, frac = divmod(c, 100)
    if frac == 0:
        return "%s%d" % (sign, whole)
    if frac % 10 == 0:
        return "%s%d.%d" % (sign, whole, frac // 10)
    return "%s%d.%02d" % (sign, whole, frac)


def encode_reading(seq, ch, t_ms, centi, fault, unsynced):
    """One reading object; centi None when the sensor gave no value."""
    parts = ['{"s":%d,"c":"%s","t":%d' % (seq, CHANNELS[ch], t_ms)]
    if centi is not None:
        parts.append(',"v":' + fmt_centi(centi))
    if fault:
        parts.append(',"f":"%s"' % FAULTS[fault])
    if unsynced:
        parts.append(',"u":1')
    parts.append("}")
    return "".join(parts)


class ReadingsMessage:
    """A readings message written into one buffer kept for the sender's life. Built by
    joining strings, each batch was copied four times (join, head + readings, encode, then
    the MQTT packet), a kilobyte each: at 96 KB of heap the backlog upload failed on such an
    allocation (tests/firmware/test_heap.py). The view `done` returns is valid until the
    next `start`."""

    def __init__(self, size=2048):
        self.buf = bytearray(size)
        self.n = 0
        self.count = 0

    def _put(self, text):
        b = text.encode() if isinstance(text, str) else text
        end = self.n + len(b)
        if end > len(self.buf):  # a longer batch than planned: grow once, keep it
            self.buf.extend(bytearray(end - len(self.buf) + 256))
        self.buf[self.n : end] = b
        self.n = end

    def start(self, probe_id, fw, boot):
        self.n = 0
        self.count = 0
        self._put('{"v":1,"id":"%s","fw":"%s","boot":%d,"r":[' % (probe_id, fw, boot))

    def add(self, reading):
        """reading: one encoded reading object (encode_reading)."""
        if self.count:
            self._put(b",")
        self._put(reading)
        self.count += 1

    def done(self):
        self._put(b"]}")
        return memoryview(self.buf)[: self.n]


def encode_readings(probe_id, fw, boot, readings):
    """readings: list of already-encoded reading objects (encode_reading). Returns bytes."""
    message = ReadingsMessage(64 + 96 * len(readings))
    message.start(probe_id, fw, boot)
    for reading in readings:
        message.add(reading)
    return bytes(message.done())


def encode_status(fields):
    """fields: the status dict without v; secrets never reach it (probe.py builds it)."""
    out = {"v": VERSION}
    out.update(fields)
    return json.dumps(out, separators=(",", ":")).encode()


def last_will(probe_id):
    return ('{"v":1,"id":"%s","online":false}' % probe_id).encode()

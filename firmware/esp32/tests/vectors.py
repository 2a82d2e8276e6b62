# MicroPython side of tests/firmware/test_contract.py (not deployed to the probe).
# micropython vectors.py <tests/vectors dir>  -> one JSON object: {file: {vector name: verdict}}
import binascii
import json
import sys

import contract
import serial_link


def verdict(fn, payload):
    try:
        fn(payload)
        return "ok"
    except contract.Rejected as e:
        return e.reason


def payload_of(v):
    if "payload_hex" in v:
        return binascii.unhexlify(v["payload_hex"])
    return v["payload"].encode()


root = sys.argv[1]
out = {}
for name, fn in (("config", contract.parse_config), ("alarm", contract.parse_alarm)):
    with open(root + "/" + name + ".json") as f:
        vectors = json.load(f)["vectors"]
    out[name] = {v["name"]: verdict(fn, payload_of(v)) for v in vectors}
with open(root + "/serial.json") as f:
    vectors = json.load(f)["vectors"]
serial = {}
for v in vectors:
    frame = serial_link.parse_line(v["line"].encode())
    serial[v["name"]] = frame[1] if frame[0] == "bad" else frame[0]
out["serial"] = serial
ids = ["van1-zone-a", "a", "x" * 32, "x" * 33, "-van", "VAN1", "van_1", "van1\u0007", ""]
out["ids"] = {i: contract.valid_probe_id(i) for i in ids}
print(json.dumps(out))

# MicroPython side of tests/firmware/test_contract.py: encode readings and status the way the
# probe does, print one payload per line (not deployed to the probe).
import contract
import serial_link

T = 1795319940000
rows = [
    contract.encode_reading(1, contract.channel_code("air"), T, 350, 0, False),
    contract.encode_reading(2, contract.channel_code("product"), T, -2125, 0, False),
    contract.encode_reading(3, contract.channel_code("door"), T, 100, 0, False),
    contract.encode_reading(4, contract.channel_code("humidity"), T, 8750, 0, True),
    contract.encode_reading(
        5, contract.channel_code("air"), T, 8500, contract.fault_code("power_on_value"), False
    ),
    contract.encode_reading(
        6, contract.channel_code("air"), T, None, contract.fault_code("disconnected"), False
    ),
    contract.encode_reading(7, contract.channel_code("battery"), T, 1260, 0, False),
    contract.encode_reading(8, contract.channel_code("air"), T, -5, 0, False),
]
print(str(contract.encode_readings("van1-zone-a", "1.0.0", 7, rows), "utf-8"))
many = [contract.encode_reading(i, 0, T - i * 60000, 123 + i, 0, False) for i in range(200)]
print(str(contract.encode_readings("van1-zone-a", "1.0.0", 1, many), "utf-8"))
status = {
    "id": "van1-zone-a",
    "online": True,
    "fw": "1.0.0",
    "boot": 3,
    "t": T,
    "queue": 12,
    "oldest": T - 3600000,
    "sync": True,
    "heap": 81234,
    "rssi": None,
    "supply": 12.4,
    "lost": 0,
    "mode": "normal",
    "silenced": False,
}
print(str(contract.encode_status(status), "utf-8"))
print(str(contract.last_will("van1-zone-a"), "utf-8"))
print(
    str(
        serial_link.encode_up(
            42, "readings", contract.encode_readings("van1-zone-a", "1.0.0", 7, rows[:1])
        ),
        "utf-8",
    ),
    end="",
)

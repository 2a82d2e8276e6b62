"""The probe-to-server contract: topics, payloads, limits, and the one validator.

This package owns the contract described in docs/protocol.md. The gateway, the alert
worker and the server validate every probe message here; the MicroPython firmware
encodes the same payloads (firmware/esp32/contract.py) and both sides run the shared
vectors in tests/vectors/ so the two never drift.

Validation never raises on input: it returns either a `ReadingsBatch` / `ProbeStatus`
/ `ProbeConfig` / `AlarmCommand`, or a `Rejection` carrying a `Reason` code.

One module per concern, its public names in its `__all__`, all re-exported here (import
from `coldchain.protocol`):

- `messages`: topics, message kinds, limits, channels, fault codes, the payload types;
- `encoding`: payload types to compact JSON, the shape the firmware sends;
- `validation`: the validator, `Rejection` and its `Reason` codes;
- `fast_path`: the shortcut `parse_readings` takes for plainly valid readings.
"""

from coldchain.protocol import encoding, messages, validation
from coldchain.protocol.encoding import *  # noqa: F403
from coldchain.protocol.messages import *  # noqa: F403
from coldchain.protocol.validation import *  # noqa: F403

__all__ = [*messages.__all__, *encoding.__all__, *validation.__all__]

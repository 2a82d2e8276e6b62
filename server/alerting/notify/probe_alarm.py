"""In-van alarm: `cc/v1/dev/<probe>/down/alarm` (QoS 1), the buzzer, LED and display."""

from __future__ import annotations

from typing import Any, Protocol

from coldchain.protocol import MAX_ALARM_TEXT_CHARS, AlarmCommand, Kind, encode_alarm, topic
from server.alerting.notify.base import DeliveryFailed


class MqttPublish(Protocol):
    """Something that can publish on the broker (the alert worker's MQTT connection)."""

    def publish_wait(self, topic: str, payload: bytes, qos: int, timeout_s: float) -> bool:
        """Publish and wait for the broker's acknowledgement; False if it did not come."""


def alarm_text(text: str) -> str:
    """At most 64 characters, one line per 16 on the probe's display; no control chars."""
    clean = "".join(ch if ch >= " " else " " for ch in text).strip()
    if len(clean) <= MAX_ALARM_TEXT_CHARS:
        return clean
    return clean[: MAX_ALARM_TEXT_CHARS - 1] + "…"


class ProbeAlarmChannel:
    name = "probe_alarm"

    def __init__(self, publisher: MqttPublish, timeout_s: float = 5.0) -> None:
        self.publisher = publisher
        self.timeout_s = timeout_s

    def send(self, target: str, payload: dict[str, Any]) -> None:
        command = AlarmCommand(
            on=bool(payload["on"]),
            text=alarm_text(str(payload.get("text", ""))),
            alert_id=str(payload["alert"])[:64] if payload.get("alert") else None,
            ring=payload.get("ring", True) is not False,  # False: the display only
        )
        if not self.publisher.publish_wait(
            topic(target, Kind.ALARM), encode_alarm(command), 1, self.timeout_s
        ):
            raise DeliveryFailed("the broker did not acknowledge the alarm (offline?)")

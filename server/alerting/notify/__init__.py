"""Notification channels behind one interface: `Channel.send(target, payload)` raises
`DeliveryFailed` (retry later) or returns; the caller logs every attempt and retries."""

from server.alerting.notify.base import Channel, DeliveryFailed

__all__ = ["Channel", "DeliveryFailed"]

"""The alert worker's broker connection: the shared subscriber (coldchain/mqtt/subscriber.py)
on its own readings subscription (`$share/alerts/cc/v1/dev/+/up/readings`), into a queue.

Messages go to `inbox`, read by the worker's one processing thread; `ack(delivery)` is
called once the engine state that includes the message is saved, and only acknowledges on
the connection the message came on (after a reconnect the broker resends the rest). A topic
that is not UTF-8 arrives with its `rejection` set instead of stopping the subscriber. The
same connection publishes probe alarms (`publish_wait`).
"""

from __future__ import annotations

import queue

from coldchain.mqtt.subscriber import Delivery, Subscriber
from coldchain.protocol import Kind, share_filter, topic
from coldchain.settings import AlertingSettings, MqttSettings


class AlertMqtt(Subscriber):
    def __init__(self, mqtt_settings: MqttSettings, settings: AlertingSettings) -> None:
        # A plain subscription survives a Mosquitto 2.0 restart; a shared one is forgotten
        # until re-subscribed (measured, docs/gateway.md). One worker runs at a time (lease).
        readings = (
            share_filter(settings.share_group, Kind.READINGS)
            if settings.shared_subscription
            else topic("+", Kind.READINGS)
        )
        self.inbox: queue.Queue[Delivery] = queue.Queue()
        super().__init__(
            mqtt_settings,
            settings.client_id,
            [readings],
            settings.receive_maximum,
            self.inbox.put,
            name="alert worker",
        )

"""Gateway: MQTT and USB-serial probes into the reading store."""

"""A TCP relay between MQTT clients and a real broker: cuts links and can corrupt a topic.

What Mosquitto itself never does, for the subscriber's tests: it disconnects a publisher
whose topic is not UTF-8 (measured on 2.0.11), so a topic like that can only reach a
subscriber through something else (a bridge, another broker). The relay rewrites a marker in
the topics the broker sends, byte for byte, into invalid UTF-8. It also cuts every link at
once (the client sees a lost connection and reconnects through the relay; the broker keeps
the persistent session), and records the PUBACKs clients send, per link.
"""

from __future__ import annotations

import contextlib
import socket
import threading

PUBLISH, PUBACK = 3, 4
# The probe id the `mqtt_proxy` fixture (tests/conftest.py) rewrites, byte for byte, into a
# topic level that is not UTF-8: subscribers see it as "bad\ufffdtopic" once decoded.
MARKER, BROKEN = b"bad-topic", b"bad\xfftopic"


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_packet(sock: socket.socket) -> tuple[int, bytes, bytes] | None:
    """(packet type, fixed header, body), or None when the link closed."""
    first = _read_exactly(sock, 1)
    if first is None:
        return None
    header, length, shift = first, 0, 0
    while True:  # the remaining length: a variable byte integer, 1 to 4 bytes
        byte = _read_exactly(sock, 1)
        if byte is None:
            return None
        header += byte
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = _read_exactly(sock, length) if length else b""
    if body is None:
        return None
    return first[0] >> 4, header, body


class MqttProxy:
    """Listens on `port`; each client connection gets its own connection to the broker."""

    def __init__(self, broker_port: int, corrupt: tuple[bytes, bytes] | None = None) -> None:
        # (marker, replacement): the same length, so no length field changes
        assert corrupt is None or len(corrupt[0]) == len(corrupt[1])
        self.broker_port = broker_port
        self.corrupt = corrupt
        self.links = 0  # client connections accepted so far
        self.pubacks: list[tuple[int, int]] = []  # (link number, packet id), once forwarded
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="mqtt-proxy").start()

    def cut(self) -> None:
        """Close every open link, both ways."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() below on Linux
        self._server.close()
        self.cut()

    def acked(self, link: int) -> list[int]:
        """Packet ids the client acknowledged on link number `link` (1 is the first)."""
        with self._lock:
            return [mid for n, mid in self.pubacks if n == link]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            broker = socket.create_connection(("127.0.0.1", self.broker_port))
            with self._lock:
                self.links += 1
                link = self.links
                self._open += [client, broker]
            for source, target, to_client in ((broker, client, True), (client, broker, False)):
                threading.Thread(
                    target=self._pump, args=(source, target, to_client, link), daemon=True
                ).start()

    def _pump(
        self, source: socket.socket, target: socket.socket, to_client: bool, link: int
    ) -> None:
        try:
            while (packet := _read_packet(source)) is not None:
                kind, header, body = packet
                if to_client and kind == PUBLISH and self.corrupt is not None:
                    size = int.from_bytes(body[:2], "big")
                    topic = body[2 : 2 + size].replace(*self.corrupt)
                    body = body[:2] + topic + body[2 + size :]
                target.sendall(header + body)
                if not to_client and kind == PUBACK:
                    with self._lock:
                        self.pubacks.append((link, int.from_bytes(body[:2], "big")))
        except OSError:
            pass  # cut
        finally:  # one side gone: close the link both ways, as a broker or client would
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

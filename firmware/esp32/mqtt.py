# MQTT 3.1.1 client for the probe, after peterhinch's mqtt_as (docs/firmware.md, "Uplink"):
# MQTTProtocol speaks packets and raises OSError for anything wrong with the link;
# MQTTLink owns connectivity and is the ONE layer that turns OSError into a reconnect with
# backoff. Nothing here blocks sampling or the alarm: every wait is an asyncio wait, except
# the DNS lookup in open_connection (getaddrinfo has no asynchronous form in MicroPython).
import asyncio
import binascii
import struct
import time

import contract

MAX_INCOMING = contract.MAX_PAYLOAD_BYTES + 256  # a larger PUBLISH is drained, never buffered
_DRAIN = 512


def _varlen(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return out


def _utf8(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def _der(cert):
    # MicroPython's load_verify_locations(cadata=) rejects a PEM file read as is ("invalid cert":
    # mbedtls wants the PEM NUL-terminated); the DER inside it is always accepted.
    if not cert.lstrip().startswith(b"-----BEGIN"):
        return cert
    first = cert.split(b"-----END")[0]  # one CA certificate: the first block of a bundle
    body = b"".join(line for line in first.split(b"\n") if line and not line.startswith(b"-----"))
    return binascii.a2b_base64(body)


class MQTTProtocol:
    def __init__(self, reader, writer, on_message, response_s, log):
        self.r = reader
        self.w = writer
        self.on_message = on_message  # (topic str, payload bytes or None when oversize)
        self.response_s = response_s
        self.log = log
        self._pid = 0
        self._acks = set()  # PUBACK/SUBACK pids received, consumed by their waiter
        self._ack_event = asyncio.Event()
        self.last_rx = time.ticks_ms()
        self.last_tx = time.ticks_ms()
        self.oversize = 0

    def next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    async def _send(self, *parts):
        # Parts written one after the other, not joined: a readings message is not copied.
        try:
            for data in parts:
                self.w.write(data)
            await self.w.drain()
        except Exception as e:  # noqa: BLE001 - MicroPython's ssl raises more than OSError
            raise OSError("send: %r" % (e,))
        self.last_tx = time.ticks_ms()

    async def _read(self, n):
        try:
            data = await self.r.readexactly(n)
        except EOFError:
            raise OSError("broker closed the connection")
        if len(data) != n:
            raise OSError("short read")
        return data

    async def _read_len(self):
        n = 0
        shift = 0
        while True:
            b = (await self._read(1))[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 21:
                raise OSError("bad remaining length")

    async def connect(self, client_id, user, password, will_topic, will_msg, keepalive, clean):
        flags = 0x02 if clean else 0
        body = bytearray(b"\x00\x04MQTT\x04")
        payload = bytearray(_utf8(client_id))
        if will_topic:
            flags |= 0x04 | 0x08 | 0x20  # will, will QoS 1, will retain
            payload += _utf8(will_topic) + _utf8(will_msg)
        if user:
            flags |= 0x80
            payload += _utf8(user)
            if password:
                flags |= 0x40
                payload += _utf8(password)
        body.append(flags)
        body += struct.pack("!H", keepalive)
        body += payload
        await self._send(b"\x10" + _varlen(len(body)) + body)
        head = await asyncio.wait_for(self._read(4), self.response_s)
        if head[0] != 0x20 or head[1] != 2:
            raise OSError("no CONNACK")
        if head[3] != 0:
            # 4 = bad user name or password, 5 = not authorised (MQTT 3.1.1 table 3.1)
            raise OSError("CONNACK refused, code %d" % head[3])
        self.last_rx = time.ticks_ms()

    async def read_loop(self):
        while True:
            kind = (await self._read(1))[0]
            n = await self._read_len()
            self.last_rx = time.ticks_ms()
            op = kind & 0xF0
            if op == 0x30:
                await self._incoming(kind, n)
            elif op in (0x40, 0x90):  # PUBACK, SUBACK
                data = await self._read(n)
                self._acks.add(struct.unpack_from("!H", data, 0)[0])
                self._ack_event.set()
            else:  # PINGRESP and anything else: read and forget
                if n:
                    await self._read(n)

    async def _incoming(self, kind, n):
        qos = (kind >> 1) & 3
        tlen = struct.unpack("!H", await self._read(2))[0]
        topic = await self._read(tlen)
        left = n - 2 - tlen
        pid = None
        if qos:
            pid = struct.unpack("!H", await self._read(2))[0]
            left -= 2
        if left > MAX_INCOMING:
            # Hostile or broken sender: drain it in small pieces, never hold it in RAM.
            self.oversize += 1
            while left:
                step = min(left, _DRAIN)
                await self._read(step)
                left -= step
            payload = None
        else:
            payload = await self._read(left) if left else b""
        try:
            self.on_message(str(topic, "utf-8"), payload)
        except Exception as e:  # noqa: BLE001 - a bad message must never take the link down
            self.log("downlink handler: %r" % (e,))
        if qos == 1:
            await self._send(b"\x40\x02" + struct.pack("!H", pid))

    async def _wait_ack(self, pid):
        deadline = time.ticks_add(time.ticks_ms(), int(self.response_s * 1000))
        while pid not in self._acks:
            left = time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                raise OSError("no ack for %d" % pid)
            self._ack_event.clear()
            try:
                await asyncio.wait_for_ms(self._ack_event.wait(), left)
            except asyncio.TimeoutError:
                pass
        self._acks.discard(pid)

    async def publish(self, topic, msg, qos=1, retain=False):
        pid = self.next_pid() if qos else None
        head = 0x30 | (qos << 1) | (1 if retain else 0)
        body = _utf8(topic)
        if qos:
            body += struct.pack("!H", pid)
        await self._send(bytes((head,)) + _varlen(len(body) + len(msg)) + body, msg)
        if qos:
            await self._wait_ack(pid)

    async def subscribe(self, topics):
        pid = self.next_pid()
        body = bytearray(struct.pack("!H", pid))
        for t in topics:
            body += _utf8(t) + b"\x01"
        await self._send(b"\x82" + _varlen(len(body)) + body)
        await self._wait_ack(pid)

    async def ping(self):
        await self._send(b"\xc0\x00")

    async def disconnect(self):
        await self._send(b"\xe0\x00")

    def close(self):
        # MicroPython's Stream.close() does nothing (only `await wait_closed()` closes the
        # socket): close it here, or every reconnect leaks a socket (an ESP32 has about ten).
        try:
            self.w.s.close()
        except Exception as e:  # noqa: BLE001 - already closed, or an ssl socket's own error:
            # close() runs in MQTTLink.run's reconnect loop, which nothing may end.
            self.log("mqtt close: %r" % (e,))


class MQTTLink:
    """Connectivity: WiFi (board.net_up), socket/TLS, CONNECT, keepalive, reconnect with backoff.

    Upper layers see only `up`, `send(kind, payload) -> bool` and `on_down(kind, payload)`."""

    def __init__(self, board, net, probe_id, on_down, on_connect, log):
        self.board = board
        self.net = net  # config.json "mqtt" section
        self.probe_id = probe_id
        self.on_down = on_down
        self.on_connect = on_connect
        self.log = log
        self.up = False
        self.proto = None
        self.connects = 0
        self.failures = 0
        self._broken = False
        self._down_prefix = contract.topic(probe_id, "down/")

    async def _open(self):
        host = self.net["host"]
        tls = self.net.get("tls", False)
        port = self.net.get("port") or (8883 if tls else 1883)
        if not tls:
            return await asyncio.open_connection(host, port)
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ca = self.net.get("ca_file")
        if ca:
            with open(ca, "rb") as f:
                ctx.load_verify_locations(cadata=_der(f.read()))
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx.verify_mode = ssl.CERT_NONE  # not advised: docs/firmware.md, "TLS"
        # asyncio.open_connection(ssl=SSLContext) exists since MicroPython 1.22
        # (micropython#11897); it wraps with do_handshake_on_connect=False, so the handshake
        # runs on the non-blocking socket. The server name checked is `host`.
        return await asyncio.open_connection(host, port, ssl=ctx)

    def _message(self, topic, payload):
        if not topic.startswith(self._down_prefix):
            self.log("message on foreign topic ignored")
            return
        self.on_down(topic[len(self._down_prefix) :], payload)

    async def run(self):
        delay = 1
        while True:
            try:
                await self._session()
            except (OSError, asyncio.TimeoutError) as e:
                self.log("mqtt link down: %r" % (e,))
            except Exception as e:  # noqa: BLE001 - a bad CA file or TLS setting: keep retrying
                self.log("mqtt link down (configuration?): %r" % (e,))
            self.up = False
            self.failures += 1
            if self.proto is not None:
                self.proto.close()
                self.proto = None
            if self.connects and self._was_connected:
                delay = 1
            # Backoff with jitter so a fleet of vans does not reconnect in lockstep.
            jitter = time.ticks_ms() % 1000
            await asyncio.sleep_ms(delay * 1000 + jitter)
            delay = min(delay * 2, self.net.get("max_backoff_s", 60))

    async def _session(self):
        self._was_connected = False
        self._broken = False
        if not await self.board.net_up():
            raise OSError("network not available")
        timeout = self.net.get("response_s", 10)
        r, w = await asyncio.wait_for(self._open(), timeout)
        proto = MQTTProtocol(r, w, self._message, timeout, self.log)
        self.proto = proto
        keepalive = self.net.get("keepalive_s", 60)
        await proto.connect(
            self.probe_id,
            self.net.get("user"),
            self.net.get("password"),
            contract.topic(self.probe_id, "up/status"),
            contract.last_will(self.probe_id),
            keepalive,
            self.net.get("clean", False),
        )
        done = []

        async def reader():
            try:
                await proto.read_loop()
            except Exception as e:  # noqa: BLE001 - any reader failure is a dead link
                done.append(e)

        task = asyncio.create_task(reader())
        try:
            await proto.subscribe(
                (
                    contract.topic(self.probe_id, "down/config"),
                    contract.topic(self.probe_id, "down/alarm"),
                )
            )
            self.up = True
            self.connects += 1
            self._was_connected = True
            self.on_connect()
            while True:
                await asyncio.sleep_ms(200)
                if done:
                    raise OSError("reader: %r" % (done[0],))
                if self._broken:
                    raise OSError("publish failed")
                if self.board.net_lost():
                    raise OSError("network lost")
                now = time.ticks_ms()
                if time.ticks_diff(now, proto.last_rx) > keepalive * 1500:
                    raise OSError("broker silent for 1.5 x keepalive")
                if time.ticks_diff(now, proto.last_tx) > keepalive * 500:
                    await proto.ping()
        finally:
            self.up = False
            task.cancel()

    async def send(self, kind, payload):
        """Publish up/<kind> at QoS 1 and wait for its PUBACK. False when the link is down."""
        proto = self.proto
        if not self.up or proto is None:
            return False
        try:
            await proto.publish(
                contract.topic(self.probe_id, "up/" + kind), payload, 1, kind == "status"
            )
            return True
        except (OSError, asyncio.TimeoutError) as e:
            self.log("publish %s failed: %r" % (kind, e))
            self._broken = True  # the session loop reconnects; nobody else handles link errors
            return False

# The local alarm: sounds in the cab with no network at all (docs/firmware.md, "Local alarm").
#
# A channel beyond its threshold (after its calibration offset) for longer than its delay, a
# door open longer than door_max, or a down/alarm command sets the alarm. Buzzer and LED go on
# and the display shows why; the button silences the buzzer only (the LED stays on) until the
# alarm clears, so the next excursion sounds again. A down/alarm command with "ring": false
# (a warning) only shows its text on the display: no buzzer, no LED.


class LocalAlarm:
    def __init__(self, board):
        self.board = board
        self.alarms = {}  # channel -> (high, low, delay_s)
        self.offsets = {}
        self.door_max = None
        self.since = {}  # channel -> uptime s when it went beyond its threshold
        self.last = {}  # channel -> last corrected value
        self.remote = False
        self.remote_text = ""
        self.remote_ring = True
        self.silenced = False
        self.sounding = False
        self._out = None

    def configure(self, config):
        self.alarms = config.get("alarm") or {}
        self.offsets = config.get("offsets") or {}
        self.door_max = config.get("door_max")
        for ch in list(self.since):
            if ch != "door" and ch not in self.alarms:
                del self.since[ch]

    def corrected(self, ch, value):
        return value + self.offsets.get(ch, 0.0)

    def observe(self, ch, value, now_s):
        """One reading. A fault (value None) leaves an excursion as it was."""
        if value is None:
            return
        if ch == "door":
            beyond = self.door_max is not None and value >= 1
        else:
            limits = self.alarms.get(ch)
            if limits is None:
                return
            value = self.corrected(ch, value)
            high, low = limits[0], limits[1]
            beyond = (high is not None and value > high) or (low is not None and value < low)
        self.last[ch] = value
        if beyond:
            self.since.setdefault(ch, now_s)
        else:
            self.since.pop(ch, None)

    def command(self, on, text, ring=True):
        self.remote = on
        self.remote_text = text if on else ""
        self.remote_ring = ring

    def silence(self):
        if self.sounding:
            self.silenced = True

    def causes(self, now_s):
        out = []
        for ch in self.since:
            delay = self.door_max if ch == "door" else self.alarms.get(ch, (0, 0, 0))[2]
            if delay is not None and now_s - self.since[ch] >= delay:
                out.append(ch)
        return sorted(out)

    def update(self, now_s):
        """Drive buzzer, LED and display; returns True while the alarm is on."""
        causes = self.causes(now_s)
        self.sounding = bool(causes) or (self.remote and self.remote_ring)
        if not self.sounding:
            self.silenced = False
        lines = []
        for ch in causes:
            if ch == "door":
                lines.append("PORTE OUVERTE")
            else:
                limits = self.alarms[ch]
                bound = (
                    limits[0] if limits[0] is not None and self.last[ch] > limits[0] else limits[1]
                )
                lines.append("ALARME %s %.1f/%.1f" % (ch, self.last[ch], bound))
        if self.remote and self.remote_text:
            lines.extend(self.remote_text.split("\n"))
        elif self.remote and self.remote_ring:
            lines.append("ALARME serveur")
        out = (self.sounding and not self.silenced, self.sounding, tuple(lines[:4]))
        if out != self._out:
            self._out = out
            self.board.buzzer(out[0])
            self.board.led(out[1])
            self.board.display(out[2])
        return self.sounding

# Small JSON files in flash, replaced atomically (fsqueue.write_atomic).
import json

from fsqueue import write_atomic


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        # Missing or damaged (a write torn before the rename cannot damage it; bit rot can).
        return default


class State:
    """Boot counter, boot-loop guard and clock anchors (state.json)."""

    def __init__(self, path):
        self.path = path
        data = load_json(path, None)
        self.data = data if isinstance(data, dict) else {}

    def save(self):
        write_atomic(self.path, json.dumps(self.data))

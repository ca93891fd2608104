"""A target that counts rows before it commits them, as singer-sdk's targets do: a record_count
METRIC line for every record as it reads it, and each STATE printed (its rows "committed") a
moment after the METRIC lines before it, and the METRIC lines after it a moment later, so the
runner reads them in the target's order. Config: `pause` (seconds, default 0.4)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    config = json.loads(Path(sys.argv[sys.argv.index("--config") + 1]).read_text())
    pause = float(config.get("pause", 0.4))
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] == "RECORD":
            body = {"type": "counter", "metric": "record_count", "value": 1}
            body["tags"] = {"stream": message["stream"]}
            sys.stderr.write("counting-target INFO METRIC: " + json.dumps(body) + "\n")
            sys.stderr.flush()
        elif message["type"] == "STATE":
            time.sleep(pause)
            sys.stdout.write(json.dumps(message["value"]) + "\n")
            sys.stdout.flush()
            time.sleep(pause)


if __name__ == "__main__":
    main()

"""A target for the fan-out tests that reads slowly: runs a real target (config `real`, with the
config under `real_config`) and sleeps `sleep` seconds after every `batch` input lines it
forwards, so the runner's copy has to wait for it (backpressure)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def main() -> None:
    config = json.loads(Path(sys.argv[sys.argv.index("--config") + 1]).read_text())
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(config["real_config"], f)
    child = subprocess.Popen(
        [config["real"], "--config", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
    )

    def forward() -> None:
        for line in child.stdout:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()

    pump = threading.Thread(target=forward)
    pump.start()
    batch, pause = int(config["batch"]), float(config["sleep"])
    for n, line in enumerate(sys.stdin.buffer, 1):
        child.stdin.write(line)
        if n % batch == 0:
            time.sleep(pause)
    child.stdin.close()
    code = child.wait()
    pump.join()
    os.unlink(path)
    sys.exit(code)


if __name__ == "__main__":
    main()

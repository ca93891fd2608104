"""A target for the runner's tests: runs a real target (config `real`, with the config under
`real_config`) and, on its first `fail_times` attempts (counted in `counter`), kills it with
SIGKILL after forwarding `kill_after` input lines and seeing it commit at least once (or
`commits` times): a target killed mid-batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


def main() -> None:
    config = json.loads(Path(sys.argv[sys.argv.index("--config") + 1]).read_text())
    with open(config["counter"], "a") as f:
        f.write("target\n")
    attempt = len(Path(config["counter"]).read_text().splitlines())
    failing = attempt <= int(config.get("fail_times", 1))
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(config["real_config"], f)
    child = subprocess.Popen(
        [config["real"], "--config", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
    )

    committed = threading.Event()  # the real target has printed a state: some batches are in
    commits = int(config.get("commits", 1))

    def forward() -> None:
        for n, line in enumerate(child.stdout, 1):
            if n >= commits:
                committed.set()
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()

    pump = threading.Thread(target=forward)
    pump.start()
    for n, line in enumerate(sys.stdin.buffer, 1):
        child.stdin.write(line)
        if failing and n == int(config["kill_after"]):
            committed.wait(60)  # kill it with a batch half-read, after at least one commit
            sys.stderr.write(f"killer-target: killing the target after {n} lines\n")
            sys.stderr.flush()
            child.kill()
            child.wait()
            pump.join()
            os.unlink(path)
            os.kill(os.getpid(), signal.SIGKILL)
    child.stdin.close()
    code = child.wait()
    pump.join()
    os.unlink(path)
    sys.exit(code)


if __name__ == "__main__":
    main()

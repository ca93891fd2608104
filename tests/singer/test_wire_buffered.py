"""MessageWriter buffers standard output even when PYTHONUNBUFFERED made it raw (one system
call per record otherwise), and every message still arrives, in order, by the last STATE."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from tapwell.singer.wire import MessageWriter
w = MessageWriter()
print(type(w._out).__name__, file=sys.stderr)
for i in range(3):
    w.write_record("s", {"i": i})
w.write_state({"n": 3})
w.write_record("s", {"i": 3})
"""


def test_unbuffered_stdout_gets_a_buffer_and_loses_nothing():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, check=True)
    assert done.stderr.decode().strip() == "BufferedWriter"
    lines = done.stdout.decode().splitlines()
    assert lines[:4] == [
        '{"type":"RECORD","stream":"s","record":{"i":0}}',
        '{"type":"RECORD","stream":"s","record":{"i":1}}',
        '{"type":"RECORD","stream":"s","record":{"i":2}}',
        '{"type":"STATE","value":{"n":3}}',
    ]
    assert lines[4:] == ['{"type":"RECORD","stream":"s","record":{"i":3}}']  # flushed at exit

"""A loopback TCP proxy for tests that cut a client's connection mid-load: it listens on a free
127.0.0.1 port, forwards to one upstream address, and `cut()` resets every connection it holds
(RST on both sides, as a network reset does). Bounded: at most `max_connections` at a time,
daemon threads only, and `close()` stops everything."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], max_connections: int = 16) -> None:
        self.upstream = upstream
        self.max_connections = max_connections
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if len(self.pairs) >= self.max_connections:
                    client.close()
                    continue
                try:
                    server = socket.create_connection(self.upstream, timeout=10)
                except OSError:
                    client.close()
                    continue
                server.settimeout(None)
                self.pairs.append((client, server))
                self.accepted += 1
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> int:
        """Reset every open connection; returns how many were cut."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    # close() alone leaves the socket open while a pump thread is blocked in its
                    # recv (the kernel keeps it for that call): a request already relayed whose
                    # reply is then dropped would leave the client waiting on a live socket
                    # forever. shutdown() wakes that recv, so the close really resets.
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
        return len(pairs)

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        self.cut()

"""A loopback HTTP/1.1 proxy in front of the real mock payer that breaks chosen answers on the wire.

It breaks them below any HTTP library: headers that promise more bytes than follow, a connection reset mid-body, a
Content-Length shorter than the body, a gzip label on a body that is not gzip, or a 503.

The mock's own `truncate` fault cuts a body and declares the cut length, so the client gets a whole HTTP answer
that does not parse; these are the failures only a socket can make. Every answer is sent with
`Connection: close`, so each request arrives on a connection of its own and a broken one spoils no other.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

SHORT = "short"  # Content-Length of the whole body, half the body, then the connection closed (FIN)
RESET = "reset"  # Content-Length of the whole body, half the body, then a reset (RST: SO_LINGER 0)
DECLARED_SHORT = "declared-short"  # the whole body, with a Content-Length of half of it
NOT_GZIP = "not-gzip"  # the body as it is, labelled Content-Encoding: gzip
UNAVAILABLE = "503"  # a 503 without Retry-After, the answer the others are compared with
MODES = (SHORT, RESET, DECLARED_SHORT, NOT_GZIP, UNAVAILABLE)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"})


@dataclass
class Breakage:
    """Break the answers to the `nth` distinct request target containing `marker`, `times` times (None: always)."""

    marker: str
    nth: int
    mode: str
    times: int | None = 1


class WireProxy:
    """Forwards every request to `upstream` (its Host header kept, so the mock names the proxy in its URLs) and
    records each request target in `seen`, in order of arrival."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.seen: list[str] = []
        self.breakage: Breakage | None = None
        self._marked: list[str] = []  # distinct targets containing the breakage's marker, in order
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="wire-proxy", daemon=True).start()

    def break_answers(self, breakage: Breakage | None) -> None:
        with self._lock:
            self.breakage, self._marked = breakage, []

    def broken_target(self) -> str | None:
        """The target whose answers are being broken, once it has been asked for."""
        with self._lock:
            if self.breakage is None or len(self._marked) < self.breakage.nth:
                return None
            return self._marked[self.breakage.nth - 1]

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            request_line = reader.readline().decode("latin-1")
            if not request_line.strip():
                return
            method, target, _ = request_line.split(" ", 2)
            headers = http.client.parse_headers(reader)
            body = reader.read(int(headers.get("Content-Length") or 0))
            mode = self._mode_for(target)
            if mode == UNAVAILABLE:
                connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                   b"Connection: close\r\n\r\n")
                return
            status, reason, answer_headers, answer = self._forward(method, target, headers, body)
            head = [f"HTTP/1.1 {status} {reason}"]
            head += [f"{name}: {value}" for name, value in answer_headers if name.lower() not in HOP_BY_HOP]
            declared = len(answer) // 2 if mode == DECLARED_SHORT else len(answer)
            head += [f"Content-Length: {declared}", "Connection: close"]
            if mode == NOT_GZIP:
                head.append("Content-Encoding: gzip")
            sent = answer[: len(answer) // 2] if mode in (SHORT, RESET) else answer
            try:
                connection.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + sent)
            except OSError:
                return  # a client that read the Content-Length it was told may hang up before the rest is sent
            if mode == RESET:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _mode_for(self, target: str) -> str | None:
        with self._lock:
            self.seen.append(target)
            breakage = self.breakage
            if breakage is None or breakage.marker not in target:
                return None
            if target not in self._marked:
                self._marked.append(target)
            if self._marked.index(target) != breakage.nth - 1 or breakage.times == 0:
                return None
            if breakage.times is not None:
                breakage.times -= 1
            return breakage.mode

    def _forward(self, method: str, target: str, headers, body: bytes):
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            upstream.request(method, target, body=body or None, headers=dict(headers.items()))
            answer = upstream.getresponse()
            return answer.status, answer.reason, answer.getheaders(), answer.read()
        finally:
            upstream.close()

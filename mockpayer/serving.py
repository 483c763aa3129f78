"""Run a WSGI app with waitress, the server every payer-mirror process uses, blocking or in a thread.

Tests and the pytest plugin need a real server on a free loopback port that starts and stops in-process;
the CLI needs the same server in the foreground. Both go through here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from ipaddress import ip_address

from waitress.server import create_server

LOOPBACK = "127.0.0.1"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class RunningServer:
    url: str
    _server: object
    _thread: threading.Thread
    _stopping: threading.Event

    def stop(self) -> None:
        """Closes the listener and every open connection at once; the serving thread notices within a
        second (waitress's select timeout) and ends by itself, so there is no need to wait for it."""
        self._stopping.set()
        for dispatcher in list(self._server._map.values()):  # the listener, its trigger, open keep-alive channels
            dispatcher.close()
        self._server.task_dispatcher.shutdown()


def _run_until_closed(server, stopping: threading.Event) -> None:
    """waitress has no threaded stop: closing its sockets under a running select raises EBADF, which ends it."""
    try:
        server.run()
    except OSError:
        if not stopping.is_set():
            raise


def start_in_thread(app, host: str = LOOPBACK, port: int = 0, threads: int = 8) -> RunningServer:
    """Serve `app` on `host:port` (port 0: any free port) from a daemon thread."""
    server = create_server(app, host=host, port=port, threads=threads, ident="payer-mirror")
    bound_port = server.effective_port
    stopping = threading.Event()
    thread = threading.Thread(target=_run_until_closed, args=(server, stopping), name=f"waitress-{bound_port}",
                              daemon=True)
    thread.start()
    display_host = f"[{host}]" if ":" in host else host
    return RunningServer(f"http://{display_host}:{bound_port}", server, thread, stopping)


def serve_forever(app, host: str, port: int, threads: int = 8) -> None:
    server = create_server(app, host=host, port=port, threads=threads, ident="payer-mirror")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()

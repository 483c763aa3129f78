"""Run a WSGI app with waitress, the server every payer-mirror process uses, blocking or in a thread.

Tests and the pytest plugin need a real server on a free loopback port that starts and stops in-process;
`mirror serve` and `mockpayer serve` need the same server in the foreground. All go through here.

waitress would drop `X-Forwarded-*` headers before the app sees them; they are passed on, because the app is
the one to judge them: the mock honours a proxy's only under `mockpayer serve --trust-proxy` (werkzeug's
ProxyFix), and its `/_admin` refuses any request that came through a proxy.
"""

from __future__ import annotations

import socket
import threading
from typing import Any
from collections.abc import Callable
from dataclasses import dataclass

from waitress.server import create_server
from waitress.wasyncore import close_all

from mirror.http.hosts import LOOPBACK

STOP_SECONDS = 5
THREADS = 8  # worker threads per process


@dataclass
class RunningServer:
    url: str
    _server: Any  # waitress's server: its stubs lack the trigger and socket map that stop() uses
    _thread: threading.Thread
    _stopping: threading.Event

    def stop(self) -> None:
        """So that stopping the server frees its port at once and waits for its work to end.

        Closes the listener and every open connection from the serving thread itself, woken through
        waitress's trigger, waits for that thread to end, then for the workers. Closed from another thread,
        a socket stays bound until the serving thread's select returns (up to a second), so binding its port
        again at once (a test restarting the mock on the same port) failed with EADDRINUSE."""
        self._stopping.set()
        try:
            self._server.trigger.pull_trigger(lambda: close_all(self._server._map))
        except OSError:  # the loop already ended (its trigger is closed): nothing left to wake
            close_all(self._server._map)
        self._thread.join(STOP_SECONDS)
        self._server.task_dispatcher.shutdown()


def _run_until_closed(server, stopping: threading.Event) -> None:
    """waitress's loop runs while its map holds a dispatcher: `stop` empties it.

    A socket error while stopping (a connection closed under a request) is part of stopping."""
    try:
        server.run()
    except OSError:
        if not stopping.is_set():
            raise


def start_in_thread(app, host: str = LOOPBACK, port: int = 0, threads: int = THREADS) -> RunningServer:
    """Serve `app` on `host:port` (port 0: any free port) from a daemon thread."""
    server = _create_server(app, host, port, threads)
    stopping = threading.Event()
    thread = threading.Thread(target=_run_until_closed, args=(server, stopping),
                              name=f"waitress-{server.effective_port}", daemon=True)
    thread.start()
    return RunningServer(root_url(host, server.effective_port), server, thread, stopping)


class ServeError(RuntimeError):
    """The server could not listen where asked; the message says where and why, in one line."""


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a server could listen on `host:port` now (bound as waitress binds, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def serve_forever(app, host: str, port: int, threads: int = THREADS,
                  announce: Callable[[str], None] | None = None) -> None:
    """Serve `app` until Ctrl-C; `announce` gets the root URL once listening (port 0: the port chosen)."""
    try:
        server = _create_server(app, host, port, threads)
    except OSError as error:
        raise _cannot_listen(host, port, error) from None
    try:  # announcing too: a Ctrl-C just after the announcement is a stop, not an interruption
        if announce is not None:
            announce(root_url(host, server.effective_port))
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A socket listening on `host:port` (port 0: any free port), bound as waitress binds; ServeError if it cannot."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                flags=socket.AI_PASSIVE)[0]
        listener = socket.socket(family, kind, protocol)
    except OSError as error:
        raise _cannot_listen(host, port, error) from None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(backlog)
    except OSError as error:
        listener.close()
        raise _cannot_listen(host, port, error) from None
    return listener


def _cannot_listen(host: str, port: int, error: OSError) -> ServeError:
    return ServeError(f"cannot listen on {host} port {port}: {error.strerror or error}; choose another with --port")


def _create_server(app, host: str, port: int, threads: int):
    return create_server(app, host=host, port=port, threads=threads, ident="payer-mirror",
                         clear_untrusted_proxy_headers=False)


def root_url(host: str, port: int) -> str:
    """The URL a client uses for a server on `host:port` (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

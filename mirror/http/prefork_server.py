"""Run a WSGI app in several processes on one port, with gunicorn's pre-fork server (Unix), in the foreground.

One Python process runs Python one thread at a time, so a server that should use every core of a load-test
machine needs processes. gunicorn's arbiter listens once, forks the workers that share that socket, starts a
worker again when one dies, and stops them all on Ctrl-C or SIGTERM. The caller builds the app before the fork
(plans are read once, and the workers share those pages), so whatever must be one thing for every worker (codes,
tokens, a session's signing key) has to live outside the processes: that is the caller's job. Each worker is
gunicorn's threaded worker, with as many threads as `mirror/http/wsgi_server.py` gives waitress.

As with waitress, the app sees `X-Forwarded-*` as sent and judges them itself: gunicorn is told to trust no
proxy, so it never turns them into the request's scheme. Its own access log stays off (its request line
would carry query strings, where codes travel); the app logs what it chooses to.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from mirror.http.wsgi_server import STOP_SECONDS, THREADS, listening_socket, root_url

KEEPALIVE_SECONDS = 15  # gunicorn's 2 s would close a browser's or a load balancer's connection between clicks
LONGEST_REQUEST_LINE = 8190  # gunicorn's highest; its default, 4094, is shorter than some authorize URLs


class _PreforkServer(BaseApplication):
    """gunicorn's arbiter around an app already built, told only what this module sets, never the command line."""

    def __init__(self, app, settings: dict):
        self._app = app
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self):
        return self._app


def serve_workers(app, host: str, port: int, workers: int, threads: int = THREADS, name: str = "payer-mirror",
                  announce: Callable[[str], None] | None = None) -> None:
    """Serve `app` from `workers` processes until Ctrl-C or SIGTERM; `announce` gets the root URL once listening.

    The socket is bound here, as waitress binds it, so that a port in use fails at once with the same one-line
    error (gunicorn would retry for five seconds) and port 0 is known before the workers start."""
    listener = listening_socket(host, port)
    url = root_url(host, listener.getsockname()[1])

    def when_ready(arbiter) -> None:  # in the arbiter, listening, before the first fork
        if announce is not None:
            announce(url)
        gc.freeze()  # what the app built stays out of the collector's way, so the forks share its pages longer

    settings = {
        "bind": [f"fd://{listener.detach()}"],  # gunicorn takes the socket over and closes it when stopping
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": True,
        "keepalive": KEEPALIVE_SECONDS,
        "graceful_timeout": STOP_SECONDS,
        "limit_request_line": LONGEST_REQUEST_LINE,
        "forwarded_allow_ips": "",
        "accesslog": None,
        "loglevel": "warning",
        "proc_name": name,
        "when_ready": when_ready,
    }
    arbiter = os.getpid()
    try:
        _PreforkServer(app, settings).run()
    except SystemExit as stopped:  # the arbiter ends with sys.exit, 0 after Ctrl-C or SIGTERM; so does each worker
        if os.getpid() != arbiter or stopped.code not in (0, None):
            raise

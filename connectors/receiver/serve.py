"""Running the receivers: one uvicorn server per `dvcqg_stream` source, each on its own `listen`
address, all in one process and one event loop, sharing the process's write lock.

SIGTERM (or Ctrl-C) stops them all gracefully: no new connection is taken, the requests in hand
are finished and answered (a batch is one transaction: committed and answered, or not stored),
idle connections are closed, and the process exits 0. uvicorn's own signal handling is replaced by
one for every server, since each server would take the signal from the others, and since uvicorn
raises the signal again once it has stopped, which would end the process with it instead of 0.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from monitor.config import ConfigError
from monitor.kinds.dvcqg_stream import StreamSettings

# A request still running this long after SIGTERM is cut off (its transaction rolls back or has
# committed; either way the sender's retry is harmless).
GRACEFUL_SECONDS = 60
BACKLOG = 512

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listener:
    """A source's app and the socket it is served on (bound before serving, so port 0 works)."""
    name: str
    app: ASGIApp
    sock: socket.socket

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listen_address(source: StreamSettings, config_path) -> tuple[str, int]:
    """`listen` as (host, port): `host:port`, `[v6 address]:port`."""
    host, sep, port = source.listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdecimal() or not int(port) <= 65535:
        raise ConfigError(f"{config_path}: sources[{source.name}].listen: {source.listen!r} is not host:port "
                          "(e.g. 127.0.0.1:8090)")
    return host, int(port)


def bind(source: StreamSettings, config_path) -> socket.socket:
    """A listening socket on the source's `listen` address; a taken or foreign address is a
    configuration error naming the key."""
    host, port = listen_address(source, config_path)
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(info[4])
            sock.listen(BACKLOG)   # connections queue from here on, before the loop serves them
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise ConfigError(f"{config_path}: sources[{source.name}].listen: cannot listen on {source.listen} "
                          f"({exc.strerror or exc})") from None
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield   # Receivers handles the signals, once for every server


class Receivers:
    """The servers of the listeners; `run()` serves until `stop()` or SIGTERM / SIGINT."""

    def __init__(self, listeners: list[Listener], graceful_seconds: float = GRACEFUL_SECONDS):
        self.listeners = listeners
        self.servers = [_Server(uvicorn.Config(listener.app, lifespan="off", log_config=None, access_log=False,
                                               server_header=False, timeout_graceful_shutdown=graceful_seconds))
                        for listener in listeners]

    @property
    def started(self) -> bool:
        return all(server.started for server in self.servers)

    def run(self) -> None:
        asyncio.run(self.serve())

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if threading.current_thread() is threading.main_thread() else ()
        for number in signals:
            loop.add_signal_handler(number, self.stop, number)
        try:
            for listener in self.listeners:
                log.info("%s: receiving on %s", listener.name, listener.url)
            await asyncio.gather(*(server.serve(sockets=[listener.sock])
                                   for server, listener in zip(self.servers, self.listeners)))
        finally:
            for number in signals:
                loop.remove_signal_handler(number)
        log.info("stopped")

    def stop(self, number: int | None = None) -> None:
        """Stop gracefully; a second Ctrl-C stops at once. Safe from any thread."""
        if number is not None:
            log.info("%s: finishing the requests in hand, then stopping", signal.Signals(number).name)
        for server in self.servers:
            if server.should_exit and number == signal.SIGINT:
                server.force_exit = True
            server.should_exit = True

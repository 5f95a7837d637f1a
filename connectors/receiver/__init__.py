"""`motcua receive`: the national sync stream received over HTTP, as a second destination of what
the province's one-stop systems push to the national portal (sources.md section 4).

- app.py: the three calls of one source (`/auth`, `/` with its services), their answers;
- sessions.py: the log-ins, in memory;
- lookup.py: `TraCuuHoSo`, a stored dossier written back in the stream's fields;
- serve.py: the sockets and the uvicorn servers, one per source, and the graceful stop.

The store is written by connectors.stream_loader, as `motcua sync` writes captured bodies.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from connectors.receiver.app import receiver_app
from connectors.receiver.serve import Listener, Receivers, bind
from monitor.config import ConfigError, Settings
from monitor.kinds.dvcqg_stream import StreamSettings

__all__ = ["receivers_for", "receiver_app", "stream_sources", "Receivers", "Listener"]


def stream_sources(settings: Settings, only: str | None = None) -> list[StreamSettings]:
    """The `dvcqg_stream` sources to receive: every one, or the one named."""
    if only is not None:
        source = settings.source(only)
        if not isinstance(source, StreamSettings):
            raise ConfigError(f"{settings.path}: source {only!r} is a {source.kind} source; "
                              f"only a {StreamSettings.kind} source is received")
        return [source]
    sources = [source for source in settings.sources if isinstance(source, StreamSettings)]
    if not sources:
        raise ConfigError(f"{settings.path}: no [[sources]] entry of kind {StreamSettings.kind}: nothing to receive")
    return sources


def credentials(settings: Settings, source: StreamSettings) -> tuple[str, str]:
    """The user name and password a sender must present, from the environment variables named by
    `username_env` and `password_env`: both keys are required to receive, and neither may be empty."""
    values = []
    for name in ("username_env", "password_env"):
        key = f"sources[{source.name}].{name}"
        env_name = getattr(source, name)
        if not env_name:
            raise ConfigError(f"{settings.path}: {key} is required to receive a {StreamSettings.kind} source")
        value = settings.secret(key, env_name)
        if not value:
            raise ConfigError(f"{settings.path}: {key} names the environment variable {env_name}, which is empty")
        values.append(value)
    return values[0], values[1]


def receivers_for(settings: Settings, engine: Engine, clock: Callable[[], datetime],
                  only: str | None = None) -> Receivers:
    """The receivers of the config's stream sources (or the one named), their sockets bound.
    Raises ConfigError for a missing credential, a bad or taken `listen` address."""
    sources = stream_sources(settings, only)
    accounts = [credentials(settings, source) for source in sources]   # every key checked before binding
    write_lock = threading.Lock()
    listeners = []
    try:
        for source, (username, password) in zip(sources, accounts):
            listeners.append(Listener(source.name, receiver_app(engine, source, username, password, clock, write_lock),
                                      bind(source, settings.path)))
    except ConfigError:
        for listener in listeners:
            listener.sock.close()
        raise
    return Receivers(listeners)

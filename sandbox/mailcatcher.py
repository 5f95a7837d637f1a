"""A local SMTP server that keeps what it receives: the demo's mailbox, and the tests' one.

It is a real SMTP server (aiosmtpd) on loopback, so what it receives went through the same
smtplib session as production mail. Each message is kept in memory and, when a folder is
given, written there as an .eml file that any mail client opens.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class ReceivedMail:
    recipients: tuple[str, ...]  # the envelope's, as the server accepted them
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default)


class _Handler:
    def __init__(self, catcher: MailCatcher):
        self.catcher = catcher

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.catcher.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.catcher.hold is not None and len(self.catcher.received) >= self.catcher.hold_from:
            # A slow server: the message waits here, the sender's session open, until released.
            self.catcher.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.catcher.hold.wait)
        self.catcher.keep(tuple(envelope.rcpt_tos), envelope.original_content)
        return "250 Message accepted for delivery"


class _Authenticator:
    def __init__(self, username: str, password: str):
        self.expected = LoginPassword(username.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        # handled=False on failure: the server then answers 535 itself.
        success = auth_data == self.expected
        return AuthResult(success=success, handled=success)


# aiosmtpd logs every SMTP command at INFO; a caught message is what matters here.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _LoopbackController(Controller):
    """aiosmtpd's controller, on a port the system picks (port 0), so that tests never collide."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailCatcher:
    def __init__(self, folder: Path | None = None, *, refuse: tuple[str, ...] = (),
                 login: tuple[str, str] | None = None, hold: threading.Event | None = None, hold_from: int = 0,
                 tls: ssl.SSLContext | None = None):
        self.folder = folder
        self.refuse = refuse  # addresses answered with 550, as a server refuses an unknown mailbox
        self.hold = hold      # when given, each message waits until it is set ...
        self.hold_from = hold_from  # ... once this many messages were received
        self.holding = threading.Event()  # set once a message is waiting on `hold`
        self.received: list[ReceivedMail] = []
        self._lock = threading.Lock()
        # With `login`, AUTH is offered, in plain text: this server only ever listens on loopback.
        auth = dict(authenticator=_Authenticator(*login), auth_require_tls=False) if login else {}
        # With `tls`, the server speaks TLS from the first byte (SMTPS, as on port 465).
        self._controller = _LoopbackController(_Handler(self), hostname="127.0.0.1", port=0, ssl_context=tls,
                                               **auth)

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> MailCatcher:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def keep(self, recipients: tuple[str, ...], data: bytes) -> None:
        with self._lock:
            if self.folder is not None:
                (self.folder / f"{len(self.received) + 1:03d}-{_slug(recipients[0])}.eml").write_bytes(data)
            self.received.append(ReceivedMail(recipients, data))


def _slug(address: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in address)

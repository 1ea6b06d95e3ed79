"""The mail outbox: files in development, SMTP in production, sent off the request path.

``outbox_for`` picks SMTP when the settings name an SMTP server and a directory of
``.eml`` files otherwise (settings.py: ``SMTP_HOST``, ``NEXAFI_MAIL_DIR``).

``BackgroundWorker`` runs jobs one after another on a daemon thread. The
password-reset request hands it the whole job (look-up, token, mail), so the
RPC answers in the same time whether or not the email has an account.
"""

from __future__ import annotations

import logging
import os
import queue
import smtplib
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_SENDER = "NexaFi <no-reply@nexafi.dev>"


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    body: str


class Outbox(Protocol):
    def send(self, message: MailMessage) -> None: ...


def _build(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="nexafi.dev")
    email.set_content(message.body)
    return email


class FileOutbox:
    """One ``.eml`` file per message; written atomically so readers never see half a mail."""

    def __init__(self, directory: Path, sender: str = DEFAULT_SENDER) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, message: MailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.directory / f".{name}.tmp"
        # 0600: the file holds a live reset token.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(_build(message, self.sender)))
        os.replace(tmp, self.directory / name)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    # "starttls" (default on 587/25), "ssl" (implicit TLS, default on 465) or "none".
    security: str
    timeout_seconds: int


class SmtpOutbox:
    """Sends through an SMTP relay; TLS unless explicitly turned off."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: MailMessage) -> None:
        s = self.settings
        email = _build(message, s.sender)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        with smtp:
            if s.security == "starttls":
                smtp.starttls(context=context)
            if s.user:
                smtp.login(s.user, s.password or "")
            smtp.send_message(email)


def outbox_for(smtp: SmtpSettings | None, directory: Path, sender: str = DEFAULT_SENDER) -> Outbox:
    if smtp is not None:
        return SmtpOutbox(smtp)
    return FileOutbox(directory, sender)


class BackgroundWorker:
    """Runs jobs in order on one daemon thread; a full queue drops the job (and says so)."""

    def __init__(self, name: str, max_pending: int = 1000) -> None:
        self.name = name
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> bool:
        self._start()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            log.warning("%s: queue full, a job was dropped", self.name)
            return False
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the queued jobs (up to ``timeout``) and end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - one failed job must not stop the others
                # Only the type: an SMTP error text can quote the message or an address.
                log.error("%s: a job failed: %s", self.name, type(exc).__name__)

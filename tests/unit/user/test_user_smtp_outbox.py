"""The SMTP outbox against a real SMTP peer on loopback (plain SMTP; TLS needs a trusted relay)."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes
from email.policy import default

import pytest

from services.runtime.config import ConfigError
from services.user.mail import MailMessage, SmtpOutbox, SmtpSettings, outbox_for
from services.user.spec import mail_from_env


class TinySmtpServer:
    """Enough of RFC 5321 for one client: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.envelope: dict[str, object] = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection, connection.makefile("rb") as reader:

            def reply(line: str) -> None:
                connection.sendall(line.encode() + b"\r\n")

            reply("220 tiny ESMTP")
            recipients: list[str] = []
            while raw := reader.readline():
                command = raw.decode().strip()
                verb = command.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    reply("250 tiny")
                elif verb == "MAIL":
                    self.envelope["from"] = command.split(":", 1)[1].strip(" <>")
                    reply("250 OK")
                elif verb == "RCPT":
                    recipients.append(command.split(":", 1)[1].strip(" <>"))
                    reply("250 OK")
                elif verb == "DATA":
                    reply("354 go ahead")
                    lines = []
                    while (line := reader.readline()) not in (b".\r\n", b""):
                        lines.append(line[1:] if line.startswith(b"..") else line)
                    self.envelope["data"] = b"".join(lines)
                    self.envelope["to"] = recipients
                    reply("250 queued")
                elif verb == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("502 not implemented")

    def close(self) -> None:
        self.listener.close()


def test_a_message_goes_through_smtp():
    server = TinySmtpServer()
    try:
        outbox = SmtpOutbox(
            SmtpSettings(
                host="127.0.0.1",
                port=server.port,
                user=None,
                password=None,
                sender="NexaFi <no-reply@nexafi.dev>",
                security="none",
                timeout_seconds=5,
            )
        )
        outbox.send(
            MailMessage(to="ada@example.com", subject="Reset your password", body="Your reset token: tok-123")
        )
        server.thread.join(5)
    finally:
        server.close()
    assert server.envelope["from"] == "no-reply@nexafi.dev"
    assert server.envelope["to"] == ["ada@example.com"]
    mail = message_from_bytes(server.envelope["data"], policy=default)  # type: ignore[arg-type]
    assert mail["Subject"] == "Reset your password" and mail["To"] == "ada@example.com"
    assert "tok-123" in mail.get_content()


def test_smtp_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("SMTP_PORT", "465")
    mail = mail_from_env()
    outbox = outbox_for(mail.smtp, mail.directory)
    assert isinstance(outbox, SmtpOutbox) and outbox.settings.security == "ssl"
    monkeypatch.setenv("SMTP_SECURITY", "rot13")
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        mail_from_env()

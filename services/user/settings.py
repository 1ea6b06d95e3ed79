"""The user service's own settings, read once at start (``spec.settings_from_env``) and passed in.

Environment variables (defaults in brackets):

Token lifetimes
    NEXAFI_ACCESS_TOKEN_TTL_SECONDS        access JWT lifetime [900]
    NEXAFI_REFRESH_TOKEN_TTL_SECONDS       refresh token lifetime, renewed on each rotation [1209600 = 14 d]
    NEXAFI_REFRESH_REUSE_GRACE_SECONDS     reuse grace after a rotation (see domain/refresh.py) [10]
    NEXAFI_SERVICE_TOKEN_TTL_SECONDS       service token lifetime [900]
Login throttling (see domain/lockout.py)
    NEXAFI_LOGIN_FREE_FAILURES             failures per login and client address before delays [5]
    NEXAFI_LOGIN_ACCOUNT_FREE_FAILURES     failures per login from all addresses before delays [20]
    NEXAFI_LOGIN_BACKOFF_MAX_SECONDS       the longest delay (they double from 1 s) [900]
    NEXAFI_LOGIN_FAILURE_WINDOW_SECONDS    failures are forgotten this long after the last one [900]
Password reset
    NEXAFI_RESET_TOKEN_TTL_SECONDS         reset token lifetime [1800]
    NEXAFI_RESET_MIN_INTERVAL_SECONDS      at most one reset mail per account this often [60]
    NEXAFI_RESET_URL                       optional link template with "{token}", e.g.
                                           https://app.nexafi.dev/reset?token={token}
Hashing: NEXAFI_ARGON2_TIME_COST [3], NEXAFI_ARGON2_MEMORY_KIB [65536], NEXAFI_ARGON2_PARALLELISM [4]
Mail: NEXAFI_MAIL_DIR [.data/mail] or SMTP_HOST, SMTP_PORT [587], SMTP_USER, SMTP_PASSWORD,
    SMTP_FROM, SMTP_SECURITY [starttls; ssl on port 465], SMTP_TIMEOUT_SECONDS [10]
Service clients: NEXAFI_SERVICE_CLIENTS or NEXAFI_SERVICE_CLIENTS_FILE (see service_identity.py)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.user.domain.lockout import LockoutPolicy
from services.user.mail import DEFAULT_SENDER, SmtpSettings
from services.user.passwords import Argon2Params
from services.user.service_identity import ServiceClients

DAY = 86400


@dataclass(frozen=True)
class MailSettings:
    """SMTP when ``smtp`` is set, else one ``.eml`` file per message in ``directory``."""

    directory: Path = Path(".data/mail")
    sender: str = DEFAULT_SENDER
    smtp: SmtpSettings | None = None


@dataclass(frozen=True)
class UserSettings:
    access_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 14 * DAY
    refresh_grace_seconds: int = 10
    service_token_ttl_seconds: int = 900
    reset_ttl_seconds: int = 1800
    reset_min_interval_seconds: int = 60
    reset_url: str | None = None
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    argon2: Argon2Params = field(default_factory=Argon2Params)
    mail: MailSettings = field(default_factory=MailSettings)
    # Who may obtain a service token (IssueServiceToken).
    service_clients: ServiceClients = field(default_factory=lambda: ServiceClients({}))

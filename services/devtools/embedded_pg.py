"""An embedded PostgreSQL for development and tests, from the ``pgserver`` wheel.

Used whenever ``DATABASE_URL`` is unset. The server runs as a direct child of the
launcher with a parent-death signal, so killing the launcher (even with SIGKILL)
stops PostgreSQL too: no orphan server. It listens on a unix socket in its data
directory only. As root it runs as the system user ``pgserver`` (PostgreSQL
refuses to run as root). A second start on the same directory reuses the data.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg2

# pgserver computes a runtime folder at import and warns when XDG_RUNTIME_DIR is unset
# (always, under root); we never use that folder.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
from pgserver._commands import POSTGRES_BIN_PATH  # noqa: E402

from services.runtime.children import dying_with_parent, stop_process  # noqa: E402

SYSTEM_USER = "pgserver"


class EmbeddedPostgresError(Exception):
    """The embedded server could not start."""


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _ensure_runtime_user() -> pwd.struct_passwd | None:
    if not _running_as_root():
        return None
    from pgserver.utils import ensure_user_exists

    entry = ensure_user_exists(SYSTEM_USER)
    assert entry is not None
    return entry


def _ensure_traversable(path: Path) -> None:
    """Let the server's user reach ``path`` (owner keeps write; others get r-x on prefixes)."""
    from pgserver.utils import ensure_prefix_permissions

    ensure_prefix_permissions(path)


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of a live server on ``data_dir``, or None."""
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


class EmbeddedPostgres:
    """One PostgreSQL server on a data directory."""

    def __init__(self, data_dir: Path, port: int = 5432) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.user = _ensure_runtime_user()

    # -- addresses -------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for ``database`` over the unix socket."""
        return f"postgresql+psycopg2://postgres@/{database}?host={self.data_dir}&port={self.port}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.data_dir} port={self.port} user=postgres dbname={database}"

    @property
    def bin_dir(self) -> Path:
        return POSTGRES_BIN_PATH

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout_seconds: float = 30.0) -> EmbeddedPostgres:
        """Initialise the directory if new, start the server unless one runs, wait until ready."""
        self._prepare_directory()
        if postmaster_pid(self.data_dir) is not None and self._ready():
            return self  # reuse a running server (not ours to stop)
        self._remove_stale_pid_file()
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - owned by the child
        # Own process group: a Ctrl-C at the terminal goes to the launcher, which stops the server
        # in order; SIGINT (fast shutdown) reaches the server when the launcher dies, however it dies.
        self.process = subprocess.Popen(
            dying_with_parent(self._postgres_args(), signal.SIGINT),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            process_group=0,
            close_fds=True,
            **self._as_user(),
        )
        log.close()
        deadline = time.monotonic() + timeout_seconds
        while not self._ready():
            if self.process.poll() is not None:
                raise EmbeddedPostgresError(
                    f"PostgreSQL exited at start (code {self.process.returncode}); see "
                    f"{self.data_dir / 'server.log'}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedPostgresError("PostgreSQL did not become ready in time")
            time.sleep(0.05)
        return self

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Stop the server this object started (fast shutdown: sessions rolled back)."""
        if self.process is None:
            return
        stop_process(self.process, signal.SIGINT, timeout_seconds)
        self.process = None

    def stop_any(self) -> None:
        """Stop whatever server runs on the directory, ours or not (``pg_ctl stop -m fast``)."""
        if self.process is not None:
            self.stop()
            return
        if postmaster_pid(self.data_dir) is None:
            return
        subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            **self._as_user(),
        )

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------
    def _postgres_args(self) -> list[str]:
        args = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-k",
            str(self.data_dir),
            "-h",
            "",
            "-p",
            str(self.port),
            "-c",
            "max_connections=200",
        ]
        if os.environ.get("NEXAFI_PG_FAST") == "1":
            # Tests only: no durability needed, and fsync dominates commit latency on shared disks.
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return args

    def _prepare_directory(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            _ensure_traversable(self.data_dir)
            _ensure_traversable(self.bin_dir)
            os.chown(self.data_dir, self.user.pw_uid, self.user.pw_gid)
        self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            result = subprocess.run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--auth-local=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                    "-U",
                    "postgres",
                ],
                capture_output=True,
                text=True,
                check=False,
                **self._as_user(),
            )
            if result.returncode != 0:
                raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")

    def _remove_stale_pid_file(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists() and postmaster_pid(self.data_dir) is None:
            pid_file.unlink()

    def _ready(self) -> bool:
        try:
            connection = psycopg2.connect(self.dsn(), connect_timeout=2)
        except psycopg2.OperationalError:
            return False
        connection.close()
        return True

    def _as_user(self) -> dict[str, Any]:
        """Popen arguments that drop root to the runtime user (PostgreSQL refuses to run as root),
        done by Popen itself: no Python runs between fork and exec in a threaded launcher."""
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

"""The model registry: versions on disk, their records in the database, and the sessions serving them.

Life of a version:

1. **Registration** (at start, every replica): each ``<root>/<model>/<version>/``
   folder with a ``metadata.json`` and a model file is registered in
   ``model_versions`` when the file's SHA-256 equals the one in its metadata.
   A mismatching file is refused and logged, never registered or served. A
   version registered earlier whose file now has another hash is refused too:
   the registered hash is the reference, not whatever is on disk today.
2. **Activation**: ``active_models`` holds the version serving each model. A
   model without one gets the newest version of the built-in folder
   (``services/ai/models``) at its first registration; versions found only in
   the extra folder (``AI_MODELS_DIR``) are candidates until an admin activates
   them. ``activate`` reads the file, checks its hash against the registered
   one, builds the session *from those verified bytes* (so the file cannot be
   swapped between check and load) and runs it once; only then does it write
   the database and swap the in-memory reference.
3. **Serving**: ``active(name)`` returns the current :class:`LoadedModel`; a
   request keeps the reference it got, so an in-flight inference finishes on
   the previous version while new ones use the new one. Sessions are built
   once per version and reused (onnxruntime sessions are thread-safe for ``run``).
4. **Other replicas** poll ``active_models`` every few seconds and perform the
   same verified load-and-swap when it changed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.ai.model_files import (
    BUILTIN_MODELS_DIR,
    MODEL_NAMES,
    IntegrityFailure,
    LoadedModel,
    ModelRecord,
    load_verified,
    metrics_of,
    parameters_of,
    scan,
    training_time_of,
    version_key,
)
from services.runtime.db import run_in_transaction
from services.runtime.errors import FailedPrecondition, NotFound

log = logging.getLogger("nexafi.ai.registry")


# -- the registry ----------------------------------------------------------------------------------

_RECORD_COLUMNS = (
    "v.name, v.version, v.sha256, v.path, v.training_time, v.metrics, v.parameters, "
    "v.feature_names, v.description, v.create_time, a.version IS NOT NULL AS active, "
    "a.activate_time"
)


def _record(row: Any) -> ModelRecord:
    return ModelRecord(
        name=row.name,
        version=row.version,
        sha256=row.sha256.strip(),
        path=row.path,
        training_time=row.training_time,
        metrics=dict(row.metrics),
        parameters=dict(row.parameters),
        feature_names=tuple(row.feature_names),
        description=row.description,
        create_time=row.create_time,
        active=bool(row.active),
        activate_time=row.activate_time if row.active else None,
    )


class ModelRegistry:
    """Registered versions in the database and the loaded sessions of the active ones."""

    def __init__(self, engine: Engine, roots: Sequence[tuple[Path, bool]]) -> None:
        self.engine = engine
        self.roots = list(roots)
        self._active: dict[str, LoadedModel] = {}
        self._loaded: dict[tuple[str, str], LoadedModel] = {}
        # Serializes loads and swaps in this process; readers never take it (dict reads are atomic).
        self._swap_lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    # registration and start-up

    def register_from_disk(self) -> None:
        """Register every verified version found on disk and give unserved models a first version."""
        found = scan(self.roots)

        def work(session: Session) -> None:
            for v in found:
                session.execute(
                    sa.text(
                        "INSERT INTO model_versions (name, version, sha256, path, training_time, metrics, "
                        "parameters, feature_names, description, metadata) VALUES (:name, :version, :sha, "
                        ":path, "
                        ":training, CAST(:metrics AS jsonb), CAST(:params AS jsonb), CAST(:features AS "
                        "jsonb), "
                        ":description, CAST(:metadata AS jsonb)) ON CONFLICT (name, version) DO NOTHING"
                    ),
                    {
                        "name": v.name,
                        "version": v.version,
                        "sha": v.sha256,
                        "path": str(v.model_path),
                        "training": training_time_of(v.metadata),
                        "metrics": json.dumps(metrics_of(v.metadata)),
                        "params": json.dumps(parameters_of(v.metadata)),
                        "features": json.dumps(list(v.metadata.get("features") or [])),
                        "description": self._description(v.metadata),
                        "metadata": json.dumps(v.metadata),
                    },
                )
                registered = session.execute(
                    sa.text("SELECT sha256, path FROM model_versions WHERE name = :n AND version = :v"),
                    {"n": v.name, "v": v.version},
                ).one()
                if registered.sha256.strip() != v.sha256:
                    log.error(
                        "refused %s %s at %s: registered earlier with sha256 %s, the file now has %s",
                        v.name,
                        v.version,
                        v.model_path,
                        registered.sha256,
                        v.sha256,
                    )
                elif registered.path != str(v.model_path):
                    # Same bytes, new place (a redeploy to another folder): follow the file.
                    session.execute(
                        sa.text("UPDATE model_versions SET path = :p WHERE name = :n AND version = :v"),
                        {"p": str(v.model_path), "n": v.name, "v": v.version},
                    )
            for name in MODEL_NAMES:
                builtin = sorted((v.version for v in found if v.name == name and v.builtin), key=version_key)
                if builtin:
                    session.execute(
                        sa.text(
                            "INSERT INTO active_models (name, version) VALUES (:n, :v) "
                            "ON CONFLICT (name) DO NOTHING"
                        ),
                        {"n": name, "v": builtin[-1]},
                    )

        run_in_transaction(self.engine, work)
        self.refresh()

    @staticmethod
    def _description(metadata: Mapping[str, Any]) -> str:
        data = metadata.get("data") or {}
        parts = [str(metadata.get("algorithm") or metadata.get("task") or "model")]
        if data.get("generator"):
            parts.append(f"trained on synthetic data from {data['generator']}")
        if metadata.get("seed") is not None:
            parts.append(f"seed {metadata['seed']}")
        return "; ".join(parts)

    def _load(self, name: str, version: str) -> LoadedModel:
        """The session of a registered version, loaded and verified once and then reused."""
        cached = self._loaded.get((name, version))
        if cached is not None:
            return cached
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT sha256, path, metadata FROM model_versions WHERE name = :n AND version = :v"),
                {"n": name, "v": version},
            ).one_or_none()
        if row is None:
            raise NotFound(
                f"model {name} version {version} is not registered",
                "MODEL_VERSION_NOT_FOUND",
                {"name": name, "version": version},
            )
        loaded = load_verified(name, version, row.path, row.sha256.strip(), row.metadata)
        self._loaded[(name, version)] = loaded
        return loaded

    def refresh(self) -> None:
        """Make the in-memory active versions match ``active_models`` (start-up and polling)."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT name, version FROM active_models")).all()
        for row in rows:
            current = self._active.get(row.name)
            if current is not None and current.version == row.version:
                continue
            with self._swap_lock:
                try:
                    loaded = self._load(row.name, row.version)
                except (IntegrityFailure, NotFound) as exc:
                    # Keep serving what we have (or nothing): never an unverified file.
                    log.error("cannot serve %s %s: %s", row.name, row.version, exc)
                    continue
                self._active[row.name] = loaded
            log.info("serving %s %s (sha256 %s)", row.name, row.version, loaded.sha256)

    def start_polling(self, interval_seconds: float) -> None:
        self._poller = threading.Thread(
            target=self._poll, args=(interval_seconds,), name="ai-registry-poll", daemon=True
        )
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)

    def _poll(self, interval_seconds: float) -> None:
        while not self._stop.wait(interval_seconds):
            try:
                self.refresh()
            except Exception:
                log.exception("polling the active model versions failed")

    # serving

    def active(self, name: str) -> LoadedModel:
        """The version serving ``name``; FAILED_PRECONDITION NO_ACTIVE_MODEL when none can."""
        loaded = self._active.get(name)
        if loaded is None:
            raise FailedPrecondition(
                f"no active, loadable version of model {name!r}", "NO_ACTIVE_MODEL", {"model": name}
            )
        return loaded

    def activate(self, name: str, version: str, reason: str, caller: str) -> tuple[ModelRecord, str]:
        """Switch ``name`` to ``version`` (verified and loaded first); (the record, previous version)."""
        with self._swap_lock:
            record = self.get(name, version)
            current = self._active_version_in_db(name)
            if current == version and name in self._active and self._active[name].version == version:
                return record, version
            try:
                loaded = self._load(name, version)
            except IntegrityFailure as exc:
                log.error("activation of %s %s refused: %s", name, version, exc)
                raise FailedPrecondition(
                    f"model {name} version {version} failed its integrity check: {exc}",
                    "MODEL_INTEGRITY_FAILED",
                    {"name": name, "version": version},
                ) from None

            def work(session: Session) -> str:
                previous = session.execute(
                    sa.text("SELECT version FROM active_models WHERE name = :n FOR UPDATE"), {"n": name}
                ).scalar()
                session.execute(
                    sa.text(
                        "INSERT INTO active_models (name, version, activate_time) "
                        "VALUES (:n, :v, clock_timestamp()) ON CONFLICT (name) DO UPDATE "
                        "SET version = EXCLUDED.version, activate_time = EXCLUDED.activate_time"
                    ),
                    {"n": name, "v": version},
                )
                session.execute(
                    sa.text(
                        "INSERT INTO model_activations (name, version, previous_version, reason, caller) "
                        "VALUES (:n, :v, :p, :r, :c)"
                    ),
                    {"n": name, "v": version, "p": previous, "r": reason, "c": caller},
                )
                return str(previous or "")

            previous = run_in_transaction(self.engine, work)
            # The reference swap: requests that already hold the previous model finish on it.
            self._active[name] = loaded
        log.info("activated %s %s (previous %s) by %s: %s", name, version, previous or "none", caller, reason)
        return self.get(name, version), previous

    def _active_version_in_db(self, name: str) -> str | None:
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.text("SELECT version FROM active_models WHERE name = :n"), {"n": name}
            ).scalar()
        return None if value is None else str(value)

    # reading the registry

    def _query(self, where: str, params: Mapping[str, Any]) -> list[ModelRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    f"SELECT {_RECORD_COLUMNS} FROM model_versions v "
                    f"LEFT JOIN active_models a ON a.name = v.name AND a.version = v.version WHERE {where}"
                ),
                dict(params),
            ).all()
        return [_record(r) for r in rows]

    def get(self, name: str, version: str) -> ModelRecord:
        """One registered version; the active one when ``version`` is empty."""
        if version:
            records = self._query("v.name = :n AND v.version = :v", {"n": name, "v": version})
            if not records:
                raise NotFound(
                    f"model {name!r} has no registered version {version!r}",
                    "MODEL_VERSION_NOT_FOUND",
                    {"name": name, "version": version},
                )
        else:
            records = self._query("v.name = :n AND a.version IS NOT NULL", {"n": name})
            if not records:
                raise NotFound(
                    f"model {name!r} is not registered or has no active version",
                    "MODEL_NOT_FOUND",
                    {"name": name},
                )
        return records[0]

    def list(self, name: str, active_only: bool) -> list[ModelRecord]:
        """Registered versions by name, then newest version first."""
        records = self._query(
            "(CAST(:n AS text) = '' OR v.name = :n) AND (NOT :active OR a.version IS NOT NULL)",
            {"n": name, "active": active_only},
        )
        records.sort(key=lambda r: version_key(r.version), reverse=True)
        records.sort(key=lambda r: r.name)
        return records

    def loaded_versions(self) -> Iterator[tuple[str, str]]:
        """(name, version) of every session held in memory (for tests and diagnostics)."""
        return iter(list(self._loaded))


def default_roots(extra_dir: str | None) -> list[tuple[Path, bool]]:
    roots: list[tuple[Path, bool]] = [(BUILTIN_MODELS_DIR, True)]
    if extra_dir:
        roots.append((Path(extra_dir), False))
    return roots

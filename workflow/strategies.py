"""The Control Strategy in force, and publishing a new one: check, preview (workflow/strategy_preview.py),
publish; every published version is kept.

The active strategy is the newest published one; until one is published, the strategy file beside the
configured rules (`strategy.yaml` in the rules folder, else the one shipped in rules/default/). It is
checked against the active ruleset's themes and BCUs, so a strategy never names a theme cases cannot carry.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlmodel import Session, col

import rules
from workflow.db import utcnow
from workflow.errors import ConfigError, NotFound, StrategyInvalid
from workflow.models import StrategyVersion
from workflow.rulebook import Rulebook, active_rulebook
from workflow.settings import get_settings
from workflow.tables import STRATEGY

SHIPPED = rules.DEFAULT_RULESET_PATH / "strategy.yaml"
_ACTIVE = select(STRATEGY.c.version, STRATEGY.c.text).where(STRATEGY.c.active.is_(True))
_loaded: dict[tuple[str, str], rules.Strategy] = {}
_lock = threading.Lock()


def configured_path() -> Path:
    """The strategy file beside the configured rules, else the shipped one."""
    base = get_settings().rules_path
    folder = base if base.is_dir() else base.parent
    for name in rules.STRATEGY_FILES:
        if (folder / name).is_file():
            return folder / name
    return SHIPPED


def _vocab(session: Session, book: Rulebook | None = None) -> tuple[dict[str, str], list[str]]:
    ruleset = (book or active_rulebook(session)).ruleset
    themes = {code: term.label for code, term in ruleset.themes.items()}
    return themes, [code for code, unit in ruleset.units.items() if unit.kind == "bcu"]


def check(session: Session, *, path: Path) -> rules.StrategyCheck:
    themes, units = _vocab(session)
    return rules.check_strategy(path, themes=themes, units=units)


def candidate(session: Session, *, path: Path) -> rules.Strategy:
    """The strategy at `path`, checked against the active rules; StrategyInvalid with every error."""
    result = check(session, path=path)
    if result.strategy is None:
        raise StrategyInvalid([str(e) for e in result.errors])
    return result.strategy


def active_strategy(session: Session, *, book: Rulebook | None = None) -> rules.Strategy:
    """The strategy the tasking list ranks by now (cached per version and ruleset), checked against
    `book`, the active rulebook (read here unless the caller holds it already)."""
    found = session.connection().execute(_ACTIVE).first()
    book = book or active_rulebook(session)
    themes, units = _vocab(session, book)
    ruleset = book.ruleset.version
    if found is not None:
        key = (found.version, ruleset)
        with _lock:
            cached = _loaded.get(key)
        if cached is None:
            try:
                cached = rules.parse_strategy(found.text, file="strategy.yaml", themes=themes, units=units)
            except rules.RuleFileErrors as exc:
                raise ConfigError(f"published strategy {found.version} no longer loads:\n{exc}") from None
        with _lock:
            _loaded[key] = cached
        return cached
    path = configured_path()
    key = (f"file:{path}:{path.stat().st_mtime_ns}", ruleset)
    with _lock:
        cached = _loaded.get(key)
    if cached is None:
        try:
            cached = rules.load_strategy(path, themes=themes, units=units)
        except rules.RuleFileErrors as exc:
            if path != SHIPPED:
                raise ConfigError(f"the strategy file does not load:\n{exc}") from None
            # The shipped placeholder under rules with other vocabularies: rank by it unchecked rather
            # than refuse the tasking list; `sctac strategy check` still reports the mismatch.
            cached = rules.load_strategy(path)
        with _lock:
            _loaded[key] = cached
    return cached


@dataclass(frozen=True)
class Published:
    version: str
    name: str
    published_at: datetime
    published_by: str
    note: str | None


def publish(session: Session, *, path: Path, actor: str, note: str | None = None) -> Published:
    """Make the strategy at `path` the active one (one transaction); earlier versions are kept. The
    tasking list re-ranks at its next read: nothing on any case changes."""
    strategy = candidate(session, path=path)
    text = path.read_text(encoding="utf-8")
    try:
        session.execute(update(STRATEGY).where(STRATEGY.c.active.is_(True)).values(active=False))
        row = session.get(StrategyVersion, strategy.version)
        if row is None:
            row = StrategyVersion(
                version=strategy.version, name=strategy.name, text=text, published_by=actor, note=note
            )
            session.add(row)
        row.active = True
        row.published_at = utcnow()
        session.flush()
        done = Published(row.version, row.name, row.published_at, row.published_by, row.note)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return done


def published(session: Session, *, version: str) -> StrategyVersion:
    found = session.get(StrategyVersion, version)
    if found is None:
        raise NotFound(f"no published strategy {version}")
    return found


def recent_versions(session: Session, *, limit: int = 20) -> Sequence[StrategyVersion]:
    query = select(StrategyVersion).order_by(col(StrategyVersion.published_at).desc()).limit(limit)
    return session.execute(query).scalars().all()


def active_text(session: Session) -> tuple[str, str]:
    """The active strategy's version and its text (for the admin page to edit)."""
    found = session.connection().execute(_ACTIVE).first()
    if found is not None:
        return found.version, found.text
    return active_strategy(session).version, configured_path().read_text(encoding="utf-8")

"""Where the chain key comes from (workflow/chain.py) and what it changes; no database needed."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workflow.chain import GENESIS, ChainKey, event_hash, key_from_settings, unkeyed_event_hash
from workflow.errors import ConfigError
from workflow.settings import Settings, load_settings

FIELDS: dict[str, Any] = dict(
    case_id=7,
    seq=1,
    trigger="submit",
    from_state=None,
    to_state="submitted",
    actor="ds.ne",
    reason=None,
    payload={"request": {"title": "County line"}},
    created_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    prev_hash=GENESIS,
)


def test_the_hash_depends_on_the_key_and_is_not_the_public_hash() -> None:
    one, other = ChainKey(b"a" * 32, source="one"), ChainKey(b"b" * 32, source="other")
    assert event_hash(**FIELDS, key=one) == event_hash(**FIELDS, key=ChainKey(b"a" * 32, source="again"))
    assert event_hash(**FIELDS, key=one) != event_hash(**FIELDS, key=other)
    assert event_hash(**FIELDS, key=one) != unkeyed_event_hash(**FIELDS)
    assert event_hash(**FIELDS, key=one) != event_hash(**{**FIELDS, "reason": "x"}, key=one)
    assert len(event_hash(**FIELDS, key=one)) == 64  # fits the existing hash columns
    assert "a" * 8 not in repr(one) and one.key_id != other.key_id


def test_a_sqlite_database_gets_a_private_key_file_beside_it_on_first_use(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'centre.db'}", chain_key=None)
    first = key_from_settings(settings)
    key_file = tmp_path / "centre.db.chain-key"
    assert first.source == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    again = key_from_settings(settings)  # read back, never replaced
    assert again.key_id == first.key_id
    assert event_hash(**FIELDS, key=again) == event_hash(**FIELDS, key=first)
    assert [p.name for p in tmp_path.iterdir()] == ["centre.db.chain-key"]  # no temporary file left


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "chain.key"
    key_file.write_text("k" * 64)
    os.chmod(key_file, 0o644)
    settings = Settings(database_url="sqlite:///x.db", chain_key=None, chain_key_file=key_file)
    with pytest.raises(ConfigError) as refused:
        key_from_settings(settings)
    assert refused.value.detail == (
        f"chain key file {key_file} can be read by other users: `chmod 600 {key_file}` (and keep it that way)"
    )
    os.chmod(key_file, 0o600)
    assert key_from_settings(settings).source == str(key_file)


def test_a_named_key_file_must_exist_and_hold_a_long_enough_key(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.key"
    with pytest.raises(ConfigError, match=f"chain key file {missing} does not exist"):
        key_from_settings(Settings(chain_key=None, chain_key_file=missing))
    short = tmp_path / "short.key"
    short.write_text("tiny\n")
    os.chmod(short, 0o600)
    with pytest.raises(ConfigError, match="too short: at least 32 characters"):
        key_from_settings(Settings(chain_key=None, chain_key_file=short))
    assert not missing.exists()  # a named file is never made up


def test_postgresql_needs_a_configured_key() -> None:
    settings = Settings(database_url="postgresql://centre@db.example/sctac", chain_key=None)
    with pytest.raises(ConfigError) as refused:
        key_from_settings(settings)
    assert refused.value.detail.startswith(
        "SCTAC_CHAIN_KEY or SCTAC_CHAIN_KEY_FILE must be set for this database"
    )


def test_a_short_key_setting_stops_start_up_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCTAC_CHAIN_KEY", "password1")
    with pytest.raises(ConfigError) as bad:
        load_settings()
    assert bad.value.detail == (
        "bad configuration: SCTAC_CHAIN_KEY: Value error, the chain key must be at least 32 characters"
        " (e.g. `openssl rand -hex 32`)"
    )
    assert "password1" not in bad.value.detail

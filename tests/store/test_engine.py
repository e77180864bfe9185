"""Database URLs: what is accepted, what it becomes, and what the error says otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadcloud import store
from roadcloud.errors import StoreError
from roadcloud.store import Store, StoreWriter
from roadcloud.store.engine import DEFAULT_URL, default_url, display_url, parse_url

from .factories import event


def test_postgresql_urls_mean_psycopg_3() -> None:
    for url in ("postgresql://u@h:5433/db", "postgres://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"):
        assert parse_url(url).drivername == "postgresql+psycopg"
    assert parse_url("sqlite:///x.db").drivername == "sqlite"


def test_display_url_hides_the_password() -> None:
    assert display_url(parse_url("postgresql://u:pw@h/db")) == "postgresql+psycopg://u:***@h/db"


def test_default_is_a_sqlite_file_in_the_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROADCLOUD_DB_URL", raising=False)
    assert default_url() == DEFAULT_URL == "sqlite:///.roadcloud/roadcloud.db"
    monkeypatch.setenv("ROADCLOUD_DB_URL", "sqlite:///elsewhere.db")
    assert default_url() == "sqlite:///elsewhere.db"


def test_default_store_creates_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROADCLOUD_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    with Store() as opened:
        assert opened.backend == "sqlite" and opened.url == DEFAULT_URL
    assert (tmp_path / ".roadcloud" / "roadcloud.db").is_file()


def test_unwritable_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=r"cannot create the folder .*file/sub.*choose a writable path"):
        Store(f"sqlite:///{blocker / 'sub' / 'x.db'}")


def test_in_memory_database_is_one_database_for_all_threads() -> None:
    with Store("sqlite://") as opened:
        with StoreWriter(opened) as writer:  # writes from the writer's thread
            writer.submit_events([event("E1"), event("E2")])
        assert opened.count_events() == 2  # reads from this one


def test_public_names_exist_and_are_sorted() -> None:
    assert store.__all__ == sorted(store.__all__, key=lambda name: (not name.isupper(), name))
    for name in store.__all__:
        assert getattr(store, name) is not None

"""``roadcloud db upgrade`` and ``roadcloud db current`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadcloud import cli
from roadcloud.store import migrate
from roadcloud.store.engine import create_store_engine, parse_url


@pytest.fixture(autouse=True)
def only_store_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI as it is, with only this package's commands: other packages' commands are tested with them."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("roadcloud.store.commands",))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, _, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("roadcloud: error:"), err
    return lines[0]


def test_upgrade_then_current(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "current", "--url", store_url)
    if store_url.startswith("sqlite"):
        assert code == 2  # no file yet: current does not create one
    else:
        assert code == 0 and "empty (no roadcloud schema)" in out
    code, out, _ = run(capsys, "db", "upgrade", "--url", store_url)
    assert code == 0 and "schema upgraded from empty to 0002 (newest)" in out
    code, out, _ = run(capsys, "db", "upgrade", "--url", store_url)
    assert code == 0 and "already at the newest revision 0002" in out
    code, out, _ = run(capsys, "db", "current", "--url", store_url)
    assert code == 0 and "revision 0002 (newest)" in out


def test_current_names_an_old_revision_and_the_command(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_store_engine(parse_url(sqlite_url))
    try:
        with engine.connect() as connection:
            migrate.upgrade(connection, where="test", revision="0001")
    finally:
        engine.dispose()
    code, out, _ = run(capsys, "db", "current", "--url", sqlite_url)
    assert code == 0 and "revision 0001; the newest is 0002: run `roadcloud db upgrade`" in out


def test_default_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROADCLOUD_DB_URL", f"sqlite:///{tmp_path / 'env.db'}")
    code, _, _ = run(capsys, "db", "upgrade")
    assert code == 0 and (tmp_path / "env.db").is_file()


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("mysql://user@host/db", "'mysql', which roadcloud does not support"),
        ("not a url", "'not a url' is not a URL"),
        ("postgresql+psycopg://user@127.0.0.1:1", "names no database"),
        ("postgresql+psycopg2://user@host/db", "'postgresql+psycopg2'"),
    ],
)
def test_bad_url_is_one_line_naming_it_and_the_forms(
    capsys: pytest.CaptureFixture[str], url: str, names: str
) -> None:
    line = one_line_error(capsys, "db", "current", "--url", url)
    assert names in line and "sqlite:///PATH" in line and "postgresql+psycopg://" in line


def test_unreachable_server_is_one_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, "db", "upgrade", "--url", "postgresql://roadcloud:s3cret@127.0.0.1:1/db")
    assert "cannot open database postgresql+psycopg://roadcloud:***@127.0.0.1:1/db" in line
    assert "s3cret" not in line and "check that the server runs" in line


def test_missing_sqlite_file_is_not_created_by_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nothing" / "here.db"
    line = one_line_error(capsys, "db", "current", "--url", f"sqlite:///{path}")
    assert f"no database file {path}" in line and "roadcloud db upgrade" in line
    assert not path.parent.exists()

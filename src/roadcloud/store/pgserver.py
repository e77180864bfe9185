"""A throwaway PostgreSQL server: ``initdb`` into a temporary folder, ``pg_ctl start`` on a free loopback
port, and everything removed on ``stop``.

Beside the store, not in the data flow: the integration tests and ``benchmarks/bench_store.py`` use it so
that they talk to a real PostgreSQL without depending on (or touching) a service the machine may run. It
needs the server binaries (Debian: ``apt-get install postgresql``; found through ``pg_config --bindir`` or
``/usr/lib/postgresql/*/bin``). PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user (or ``nobody``) in a folder handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from roadcloud.errors import StoreError

SUPERUSER = "roadcloud"
INSTALL_HINT = "install the PostgreSQL server: apt-get install -y postgresql"


def find_bindir() -> Path | None:
    """The folder with ``initdb``, ``pg_ctl`` and ``postgres``, newest major version first; None if absent."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            output = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(output.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates.extend(Path(path) for path in sorted(versions, key=_major_version, reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _major_version(path: str) -> int:
    name = Path(path).parent.name
    return int(name) if name.isdigit() else -1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class TemporaryPostgres:
    """One PostgreSQL server of its own. ``durable=False`` (tests) turns off fsync for speed; benchmarks
    keep the defaults. ``stop``/``start`` keep the data and the port, so a test can take the server away
    and bring it back; ``remove`` stops it and deletes the folder."""

    def __init__(self, *, bindir: Path | None = None, durable: bool = False) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise StoreError(
                f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; {INSTALL_HINT}"
            )
        self.bindir = found
        self.durable = durable
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="roadcloud-pg-"))
        self.data = self.folder / "data"
        self.log_path = self.folder / "server.log"
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._user = _unprivileged_user()
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        self._initialised = False
        self.running = False

    @property
    def version(self) -> str:
        output = self._run([str(self.bindir / "postgres"), "--version"], check=True)
        found = re.search(r"\d+(?:\.\d+)+", output)  # "postgres (PostgreSQL) 15.2 (Debian 15.2-1)"
        return found.group(0) if found else output.strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if self.running:
            return
        if not self._initialised:
            self._run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
            )
            self._initialised = True
        options = [
            f"-p {self.port}",
            f"-k {self.folder}",  # the Unix socket stays in our folder, away from the system's
            "-c listen_addresses=127.0.0.1",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_path),
                "-o",
                " ".join(options),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
        )
        self.running = True

    def stop(self) -> None:
        if not self.running:
            return
        self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], check=False
        )
        self.running = False

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> TemporaryPostgres:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.remove()

    def _run(self, command: list[str], *, check: bool) -> str:
        user = self._user
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.folder,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(self.folder)},
            check=False,
        )
        if check and result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise StoreError(
                f"{Path(command[0]).name} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()} {log}".strip()
            )
        return result.stdout


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise StoreError(
        "running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL as"
    )

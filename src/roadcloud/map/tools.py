"""Finding and running the SUMO programs and scripts that ship with the eclipse-sumo wheel.

The map imports networks with netconvert; the twin generates zones with netgenerate and demand with
randomTrips.py and duarouter. All of them go through here, so there is one place that knows where SUMO
lives and one way a failing tool is reported (``ToolError`` carrying the tool's own last error line).

Lookup order: the ``sumo`` package of the eclipse-sumo wheel, then ``$SUMO_HOME``, then ``PATH``. The
wheel's package is located without importing it, because importing it rewrites ``os.environ``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from roadcloud.errors import ToolError

_INSTALL_HINT = "install SUMO with `pip install eclipse-sumo==1.28.0` or set SUMO_HOME"


def sumo_home() -> Path | None:
    """The SUMO installation directory (with ``bin/`` and ``tools/``), or ``None`` if none is found."""
    spec = importlib.util.find_spec("sumo")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations)))
        if (candidate / "bin").is_dir():
            return candidate
    env_home = os.environ.get("SUMO_HOME")
    if env_home and Path(env_home, "bin").is_dir():
        return Path(env_home)
    return None


def sumo_binary(name: str) -> Path:
    """Path of a SUMO program such as ``"netconvert"`` or ``"netgenerate"``; ``ToolError`` if missing."""
    executable = name + ".exe" if os.name == "nt" and not name.endswith(".exe") else name
    home = sumo_home()
    if home is not None and (home / "bin" / executable).is_file():
        return home / "bin" / executable
    on_path = shutil.which(executable)
    if on_path is not None:
        return Path(on_path)
    raise ToolError(f"SUMO program '{name}' not found; {_INSTALL_HINT}")


def sumo_tool_script(name: str) -> Path:
    """Path of a script under SUMO's ``tools/``, e.g. ``"randomTrips.py"`` or ``"net/netcheck.py"``."""
    home = sumo_home()
    if home is None:
        raise ToolError(f"SUMO tool script '{name}' not found: no SUMO installation; {_INSTALL_HINT}")
    tools = home / "tools"
    direct = tools / name
    if direct.is_file():
        return direct
    # Scripts move between tools/ sub-folders across SUMO releases; a bare name still finds them.
    matches = sorted(tools.rglob(Path(name).name))
    if matches:
        return matches[0]
    raise ToolError(f"SUMO tool script '{name}' not found under {tools}; {_INSTALL_HINT}")


def sumo_environment() -> dict[str, str]:
    """The environment for a SUMO child process: ours plus SUMO_HOME and SUMO's PROJ data."""
    env = dict(os.environ)
    home = sumo_home()
    if home is not None:
        env.setdefault("SUMO_HOME", str(home))
        proj_data = home / "data" / "proj"
        if proj_data.is_dir() and not env.get("PROJ_DATA") and not env.get("PROJ_LIB"):
            env["PROJ_DATA"] = env["PROJ_LIB"] = str(proj_data)
    return env


def run_sumo_binary(
    name: str, args: Sequence[str], *, context: str, timeout_s: float = 600.0
) -> subprocess.CompletedProcess[str]:
    """Run SUMO program ``name`` with ``args``; ``ToolError`` with ``context`` and its last error line.

    ``context`` says what was being done, e.g. ``"netconvert could not convert 'a.xodr'"``.
    """
    command = [str(sumo_binary(name)), *args]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            env=sumo_environment(),
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolError(f"{context}: {name} did not finish within {timeout_s:g} s") from None
    except OSError as error:
        raise ToolError(f"{context}: cannot start {command[0]} ({error}); {_INSTALL_HINT}") from None
    if completed.returncode != 0:
        detail = last_error_line(completed.stderr + "\n" + completed.stdout)
        raise ToolError(f"{context}: {detail} ({name} exit code {completed.returncode})")
    return completed


def last_error_line(output: str) -> str:
    """The last line a SUMO tool marked ``Error:``, else its last meaningful line.

    SUMO tools often end on a consequence ("Error: No nodes loaded.") after the cause; when the first
    error differs from the last, both are given, cause first.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if len(errors) > 1 and errors[0] != errors[-1]:
        return f"{errors[0]} … {errors[-1]}"
    if errors:
        return errors[-1]
    meaningful = [line for line in lines if not line.startswith(("Quitting", "Warning:"))]
    if meaningful:
        return meaningful[-1]
    return lines[-1] if lines else "no output"

"""Finding SUMO's programs and scripts, and reporting their failures in one line."""

from __future__ import annotations

import os

import pytest

from roadcloud.errors import ToolError
from roadcloud.map import run_sumo_binary, sumo_binary, sumo_tool_script
from roadcloud.map.tools import last_error_line


@pytest.mark.parametrize("name", ["netconvert", "netgenerate", "duarouter", "sumo"])
def test_sumo_programs_are_found_and_executable(name: str) -> None:
    path = sumo_binary(name)
    assert path.is_file() and os.access(path, os.X_OK)


def test_tool_scripts_are_found() -> None:
    assert sumo_tool_script("randomTrips.py").name == "randomTrips.py"
    assert sumo_tool_script("netcheck.py").parent.name == "net"  # bare names find sub-folders


def test_missing_programs_and_scripts_raise_tool_error() -> None:
    with pytest.raises(ToolError, match="'netconjure' not found; install SUMO"):
        sumo_binary("netconjure")
    with pytest.raises(ToolError, match="not found under"):
        sumo_tool_script("noSuchTool.py")


def test_failing_program_reports_its_error_line() -> None:
    with pytest.raises(ToolError) as caught:
        run_sumo_binary("netconvert", ["--no-such-option"], context="netconvert test")
    message = str(caught.value)
    assert message.startswith("netconvert test: Error:") and "exit code" in message and "\n" not in message


def test_last_error_line_prefers_cause_and_consequence() -> None:
    output = (
        "Warning: x\nError: bad attribute 'length'\n In file 'a.xodr'\n"
        "Error: No nodes loaded.\nQuitting (on error).\n"
    )
    assert last_error_line(output) == "Error: bad attribute 'length' … Error: No nodes loaded."
    assert last_error_line("Warning: a\nsomething broke\nQuitting (on error).") == "something broke"
    assert last_error_line("") == "no output"

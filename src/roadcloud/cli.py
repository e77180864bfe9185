"""The one ``roadcloud`` command.

Each domain package contributes its sub-commands through a ``commands`` module with
``register(subparsers)``; this module only wires them together and turns user errors into one line and
exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from roadcloud import __version__
from roadcloud.errors import InputError, ToolError

# Domain packages that add sub-commands, in data-flow order.
COMMAND_MODULES = (
    "roadcloud.map.commands",
    "roadcloud.twin.commands",
    "roadcloud.messages.commands",
    "roadcloud.ingest.commands",
    "roadcloud.eval.commands",
    "roadcloud.store.commands",
    "roadcloud.api.commands",
    "roadcloud.cloud.commands",
)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse already exits 2 on usage errors; keep its message to one line plus the usage hint."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="roadcloud",
        description="Vehicle-road-cloud platform for a connected and automated driving zone.",
    )
    parser.add_argument("--version", action="version", version=f"roadcloud {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except InputError as error:
        print(f"roadcloud: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ToolError as error:
        print(f"roadcloud: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (``| head``) went away: stop quietly, and keep Python from failing on the final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())

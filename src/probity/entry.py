"""The `probity` console script: `probity screen …` starts without importing the web app.

`probity screen` (stdin or --image) and `probity screen train` need only the screening library;
every other command (and `probity screen labels`, which reads the database) loads the full
command line in `probity.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["screen"]:
        rest = args[1:]
        if rest[:1] not in (["labels"], ["train"]) and not {"-h", "--help"} & set(rest):
            from probity.screening.batch import run  # stdin / --image: no typer, no app

            sys.exit(run(rest))
        if rest[:1] != ["labels"]:
            from probity.screening.cli import main as screen_main

            screen_main()  # train, --help
            return
    from probity.cli import app

    app()


if __name__ == "__main__":
    main()

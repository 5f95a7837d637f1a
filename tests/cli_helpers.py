"""Running `motcua` in-process for the CLI tests, with a config file naming the test database."""
from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main


def write_config(folder: Path, database_url: str, extra: str = "") -> str:
    path = folder / "config.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n{extra}', encoding="utf-8")
    return str(path)


def run_cli(capsys, *arguments: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `motcua ARGUMENTS`."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(arguments))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err

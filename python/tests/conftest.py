"""Shared fixtures: the repository, its data, and the `gradrd` command line
(the same library behind the other front end) to compare against."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


def _cli_binary() -> Path:
    """``GRADRD_CLI``, else the checkout's debug build (``cargo build`` when
    there is none yet)."""
    given = os.environ.get("GRADRD_CLI")
    if given:
        return Path(given)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = target / "debug" / "gradrd"
    if not binary.exists():
        cargo = shutil.which("cargo")
        if cargo is None:
            pytest.skip("no gradrd binary and no cargo to build one (set GRADRD_CLI)")
        subprocess.run([cargo, "build", "--locked", "--bin", "gradrd"], cwd=REPO, check=True)
    return binary


class Cli:
    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def run(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(self.binary), *map(str, args)], capture_output=True, text=True, cwd=REPO
        )
        assert done.returncode == expect, (args, done.returncode, done.stderr)
        return done

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "--format", "json").stdout)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(_cli_binary())


def without(record: dict, *keys: str) -> dict:
    """``record`` without ``keys`` (where the two front ends name the source)."""
    return {k: v for k, v in record.items() if k not in keys}


def steps_of(folder: Path) -> dict:
    """``{step: {name: array}}`` of a dump folder, through gradrd.read."""
    import gradrd

    steps: dict = {}
    for name, step, array in gradrd.read(folder):
        steps.setdefault(step, {})[name] = array
    return steps


def names(records: List[dict]) -> List[str]:
    return [r["tensor"] for r in records]

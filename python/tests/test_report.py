"""gradrd.run renders the same report as `gradrd run`."""

from __future__ import annotations

import filecmp
from pathlib import Path

import gradrd
from conftest import REPO


def test_run_writes_the_cli_report_byte_for_byte(cli, tmp_path):
    spec = REPO / "analyses" / "m22-w2-steps.toml"
    ours = gradrd.run(spec, tmp_path / "py")
    cli.run("run", spec, "--reports", tmp_path / "cli")
    folder = Path(ours["folder"])
    assert folder.parent == tmp_path / "py"
    theirs = tmp_path / "cli" / folder.name
    written = sorted(ours["files"])
    on_disk = sorted(str(p.relative_to(theirs)) for p in theirs.rglob("*") if p.is_file())
    assert written and written == on_disk
    match, mismatch, errors = filecmp.cmpfiles(folder, theirs, written, shallow=False)
    assert mismatch == [] and errors == [], (mismatch, errors)
    assert ours["failures"] == []


def test_a_missing_spec_is_a_read_error(tmp_path):
    import pytest

    with pytest.raises(gradrd.ReadError, match="nothing.toml"):
        gradrd.run(tmp_path / "nothing.toml", tmp_path)

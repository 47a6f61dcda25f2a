"""Without a packaged world base, the demo fails with a one-line hint, before writing anything."""

from __future__ import annotations

from imvideoedit.cli import main


def test_demo_without_a_packaged_base_says_what_to_do(tmp_path, capsys, monkeypatch):
    import imvideoedit.world.base_model as base_model

    monkeypatch.setattr(base_model, "COMMITTED_BASE", tmp_path / "no-base-here")
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--base" in error
    assert not (tmp_path / "demo").exists()

"""keepers eval's false-alarm part caches each photo's findings under a key of the code they depend on."""

from __future__ import annotations

from keepers.core.lab import falsealarms


def test_findings_cached_for_false_alarms_are_measured_again_after_any_loader_module_changes(tmp_path, monkeypatch):
    # the loader is core/io/loader.py and the loader_*.py modules beside it: a changed decode in any of them changes
    # the pixels every finding was measured on, so findings cached under the old key must not be read back
    io = tmp_path / "core" / "io"
    io.mkdir(parents=True)
    (tmp_path / "core" / "lab").mkdir()
    for name in ("loader.py", "loader_open.py", "loader_pixels.py", "loader_meta.py", "loader_raw.py", "xmp.py"):
        (io / name).write_text(f"# {name}\n")
    monkeypatch.setattr(falsealarms, "__file__", str(tmp_path / "core" / "lab" / "falsealarms.py"))
    keys = {falsealarms._code_key()}
    for name in ("loader.py", "loader_open.py", "loader_pixels.py", "loader_meta.py", "loader_raw.py"):
        (io / name).write_text(f"# {name}, changed\n")
        keys.add(falsealarms._code_key())
    assert len(keys) == 6
    (io / "xmp.py").write_text("# the sidecar writer: no finding depends on it\n")
    assert falsealarms._code_key() in keys

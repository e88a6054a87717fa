"""The daemon's roots check on case-insensitive file systems (macOS, Windows; issue 20 item 6). CI runs on Linux,
whose file systems tell case apart: the file system's answer (`paths.same_folder`) is played by a stand-in that
answers as macOS's APFS does; the real one is asked where Linux must refuse."""

from __future__ import annotations

import os
import unicodedata

import pytest

from keepers.sidecar import paths
from keepers.sidecar.paths import PathRefused, inside, resolve


@pytest.fixture
def case_insensitive(monkeypatch):
    """The file system answers as APFS and NTFS do: names that differ only in case or Unicode form are one folder."""
    paths._same.cache_clear()
    monkeypatch.setattr(paths, "same_folder", lambda a, b: paths._fold(a) == paths._fold(b))
    yield
    paths._same.cache_clear()


def test_on_a_case_insensitive_file_system_a_path_typed_in_another_case_is_inside_its_root(tmp_path,
                                                                                          case_insensitive):
    """A Lightroom catalog that knows the folder as ~/pictures, a key made for ~/Pictures: the daemon refused every
    photo ("outside this application's library roots")."""
    root = tmp_path / "Users" / "ann" / "Pictures"
    root.mkdir(parents=True)
    typed = str(tmp_path / "Users" / "ann" / "pictures" / "2024" / "IMG_1.CR3")
    assert resolve(typed, [str(root)]) == typed  # read by the name the caller gave, which the file system finds
    assert inside(str(tmp_path / "users" / "ANN" / "PICTURES"), [str(root)])
    # macOS stores names decomposed (e + combining accent); a caller may send them composed
    cafe = tmp_path / unicodedata.normalize("NFD", "Café")
    cafe.mkdir()
    assert inside(os.path.join(unicodedata.normalize("NFC", str(cafe)), "a.jpg"), [str(cafe)])


def test_ignoring_case_lets_no_sibling_or_parent_of_a_root_in(tmp_path, case_insensitive):
    root = str(tmp_path / "Pictures")
    for path in (tmp_path / "pictures2" / "a.jpg", tmp_path / "PICTURE" / "a.jpg", tmp_path / "a.jpg", tmp_path):
        with pytest.raises(PathRefused):
            resolve(str(path), [root])


def test_on_linux_a_folder_whose_name_differs_only_in_case_is_another_folder_and_stays_refused(tmp_path):
    """The fallback asks the real file system: here Photos and photos are two folders, so the one outside the
    root is refused although its name folds to the root's."""
    paths._same.cache_clear()
    (tmp_path / "Photos").mkdir()
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"not the photographer's")
    with pytest.raises(PathRefused, match="outside"):
        resolve(str(tmp_path / "photos" / "a.jpg"), [str(tmp_path / "Photos")])
    assert resolve(str(tmp_path / "Photos" / "a.jpg"), [str(tmp_path / "Photos")])

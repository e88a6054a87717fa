"""Similarity index and text search over a real catalog of analysed photos.

`python tests/test_similarity.py` prints the text-search precision table of docs/eval.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, sample_rgb

from keepers.core.lab import bench
from keepers.core.analyzers import keywords
from keepers.core.search import similarity
from keepers.core.analyzers.tags import TagsAnalyzer
from keepers.core.inference.embedding import FRAME_CACHE
from keepers.core.io.catalog import Catalog
from keepers.core.types import Finding, Frame, Meta, Photo

SAMPLES = ["chelsea", "coffee", "astronaut", "rocket", "camera", "horse", "brick", "grass", "gravel", "page"]


def analyse(catalog: Catalog, name: str, rgb: np.ndarray, tags: TagsAnalyzer, folder: Path | None = None) -> int:
    """Store what a cull stores for one photo: the embedding finding and the tags finding (one model run). With a
    `folder`, the photo's file exists there (the CLI lists only photos whose files exist)."""
    path = f"/photos/{name}"
    if folder is not None:
        path = str(folder / name)
        Path(path).touch()
    frame = Frame(Photo(path, "jpeg"), rgb, Meta())
    tag = tags.analyze(frame)
    feats, _ = frame.__dict__[FRAME_CACHE]
    emb = Finding("embedding", "1", None, weight=0.0, data={"embedding": feats})
    return catalog.save(frame.photo, content_hash=name, size=1, mtime_ns=1, meta=Meta(), findings=[emb, tag],
                        error=None)


@pytest.fixture(scope="module")
def tags():
    return TagsAnalyzer(providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def small(tmp_path_factory, tags):
    """scikit-image photos, plus a mirrored, shrunk copy of the cat."""
    root = tmp_path_factory.mktemp("small")
    (root / "photos").mkdir()
    cat = Catalog(root / "catalog.db")
    ids = {n: analyse(cat, n, sample_rgb(n), tags, root / "photos") for n in SAMPLES}
    copy = np.ascontiguousarray(sample_rgb("chelsea")[::2, ::-2])
    ids["chelsea_copy"] = analyse(cat, "chelsea_copy", copy, tags, root / "photos")
    yield cat, ids
    cat.close()


def labelled_photos() -> list[Path]:
    clean = SHARED_DATA / "clean"
    return sorted((clean / "imagenet").glob("*")) + sorted((clean / "CSun_Hays80").glob("*"))


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, tags):
    """ImageNet samples (file name = class) and SUN scenes (file name = scene), analysed into one catalog."""
    from keepers.core.io.loader import load

    if not (SHARED_DATA / "clean" / "imagenet").is_dir():
        pytest.skip(f"needs {SHARED_DATA}/clean (absent on this machine)")
    cat = Catalog(tmp_path_factory.mktemp("labelled") / "catalog.db")
    names = {}
    for p in labelled_photos():
        names[analyse(cat, p.name, load(Photo(str(p), "jpeg"), 1024).rgb, tags)] = p.name
    yield cat, names
    cat.close()


def relevant(query: str, name: str) -> bool:
    """Ground truth from file names: the ImageNet class's taxonomy keywords, or the SUN scene."""
    scenes = {"beach": {"beach", "coast", "wave", "islet"},
              "mountain": {"mountain", "volcano", "ski_slope", "valley", "butte", "canyon", "badlands"},
              "church": {"abbey", "cathedral_indoor", "cloister_indoor", "monastery_outdoor", "mosque_outdoor",
                         "temple_east_asia", "pagoda"}}
    paths = {"dog": "animal|dog", "bird": "animal|bird", "food": "food", "vehicle": "vehicle", "church":
             "architecture|religious", "clothing": "clothing", "insect": "animal|insect", "animal": "animal"}
    if "_sun_" in name:
        return name.split("_sun_")[0] in scenes.get(query, set())
    entry = keywords.taxonomy()["classes"][name.split("_")[0]]
    want = paths.get(query)
    return want is not None and any(p == want or p.startswith(want + "|") for p in entry["keywords"])


def precision(catalog, names, query: str) -> tuple[float, int]:
    """Precision at 10 (at R when fewer than 10 photos are relevant) and R."""
    r = sum(relevant(query, n) for n in names.values())
    hits = similarity.search_text(catalog, query, k=min(10, r))
    return sum(relevant(query, names[i]) for i, _ in hits) / max(1, min(10, r)), r


def test_a_mirrored_shrunk_copy_is_the_most_similar_photo(small):
    cat, ids = small
    hits = similarity.similar(cat, ids["chelsea"], k=5)
    assert hits[0][0] == ids["chelsea_copy"]
    assert hits[0][1] < hits[1][1] and ids["chelsea"] not in [i for i, _ in hits]
    assert all(0 <= d <= 2 for _, d in hits)


def test_within_limits_the_search_to_the_given_photos(small):
    cat, ids = small
    allowed = [ids["coffee"], ids["rocket"]]
    hits = similarity.similar(cat, ids["chelsea"], k=5, within=allowed)
    assert sorted(i for i, _ in hits) == sorted(allowed)


def test_the_index_follows_photos_analysed_again_added_and_removed(small, tags):
    cat, ids = small
    similarity.similar(cat, ids["chelsea"], k=3)
    photos = Path(cat.path).parent / "photos"
    analyse(cat, "coffee", sample_rgb("chelsea"), tags, photos)  # the same path now holds the cat
    hits = similarity.similar(cat, ids["chelsea"], k=2)
    assert hits[0][0] == ids["coffee"] and hits[0][1] < 1e-4
    analyse(cat, "coffee", sample_rgb("coffee"), tags, photos)
    assert similarity.similar(cat, ids["chelsea"], k=1)[0][0] == ids["chelsea_copy"]
    # the newest row again: SQLite may give the replacement the same rowid, which must not hide the change
    late = analyse(cat, "late", sample_rgb("rocket"), tags, photos)
    assert similarity.similar(cat, ids["rocket"], k=1)[0] == (late, 0.0)
    analyse(cat, "late", sample_rgb("chelsea"), tags, photos)
    assert similarity.similar(cat, ids["rocket"], k=1)[0][0] != late
    assert late in [i for i, _ in similarity.similar(cat, ids["chelsea"], k=2)]
    with cat.db:
        cat.db.execute("DELETE FROM photos WHERE id = ?", (late,))
    assert late not in [i for i, _ in similarity.similar(cat, ids["chelsea"], k=20)]
    assert late not in [i for i, _ in similarity.search_text(cat, "cat", k=20)]


def test_text_search_finds_the_cat_and_the_coffee(small):
    cat, ids = small
    assert similarity.search_text(cat, "cat", k=1)[0][0] in (ids["chelsea"], ids["chelsea_copy"])
    assert similarity.search_text(cat, "a cup of coffee", k=1)[0][0] == ids["coffee"]


def test_a_photo_whose_file_is_gone_is_never_found_and_is_marked_so_in_the_catalog(tmp_path, tags):
    (tmp_path / "photos").mkdir()
    cat = Catalog(tmp_path / "catalog.db")
    ids = {n: analyse(cat, n, sample_rgb(n), tags, tmp_path / "photos") for n in ("chelsea", "coffee", "rocket")}
    ids["chelsea_copy"] = analyse(cat, "chelsea_copy", np.ascontiguousarray(sample_rgb("chelsea")[::2, ::-2]), tags,
                                  tmp_path / "photos")
    assert similarity.similar(cat, ids["chelsea"], k=1, check_files=True)[0][0] == ids["chelsea_copy"]
    (tmp_path / "photos" / "chelsea_copy").unlink()
    # the next best comes instead, and the gone photo is marked: no later search returns it, checking or not
    assert similarity.similar(cat, ids["chelsea"], k=1, check_files=True)[0][0] != ids["chelsea_copy"]
    assert cat.missing_ids() == {ids["chelsea_copy"]}
    assert ids["chelsea_copy"] not in [i for i, _ in similarity.similar(cat, ids["chelsea"], k=5)]
    assert ids["chelsea_copy"] not in [i for i, _ in similarity.search_text(cat, "cat", k=5)]
    assert ids["chelsea_copy"] not in [i for i, _ in similarity.similar(cat, ids["chelsea"], k=5,
                                                                            within=list(ids.values()))]
    (tmp_path / "photos" / "coffee").unlink()
    assert similarity.search_text(cat, "a cup of coffee", k=1, check_files=True)[0][0] != ids["coffee"]
    assert cat.missing_ids() == {ids["chelsea_copy"], ids["coffee"]}
    cat.close()


def test_cli_lists_the_copy_first(small, capsys):
    from keepers import cli

    cat, ids = small
    cat.db.execute("UPDATE photos SET path = ? WHERE id = ?", (os.path.abspath("chelsea.jpg"), ids["chelsea"]))
    cat.db.commit()
    assert cli.main(["similar", "chelsea.jpg", "-k", "2", "--catalog", str(cat.path)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("/photos/chelsea_copy")
    assert cli.main(["search", "coffee", "-k", "1", "--catalog", str(cat.path)]) == 0
    assert capsys.readouterr().out.strip().endswith("/photos/coffee")


@pytest.mark.parametrize("query, least", [("dog", 0.8), ("food", 0.7), ("animal", 0.8), ("beach", 0.5),
                                          ("church", 0.4)])
def test_text_search_ranks_matching_photos_first(labelled, query, least):
    cat, names = labelled
    p, r = precision(cat, names, query)
    assert r >= 3 and p >= least, (query, p, r)


def test_bench_finds_the_true_neighbours_quickly():
    result = bench.bench_knn(n=5_000, queries=20)
    assert result["recall_at_10"] >= 0.9
    assert result["query_ms_median"] < 10


if __name__ == "__main__":  # the table of docs/eval.md
    sys.path.insert(0, str(Path(__file__).parent))
    from keepers.core.io.loader import load

    tag = TagsAnalyzer(providers=["CPUExecutionProvider"])
    cat = Catalog(":memory:")
    names = {analyse(cat, p.name, load(Photo(str(p), "jpeg"), 1024).rgb, tag): p.name for p in labelled_photos()}
    for q in ["dog", "bird", "insect", "animal", "food", "vehicle", "clothing", "beach", "mountain", "church"]:
        p, r = precision(cat, names, q)
        print(f"| {q} | {r} | {p:.2f} |")

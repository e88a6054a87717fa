"""The run's order of work (keepers.core.pipeline.Cull): when the sidecar writers start, beside the analysis."""

import pytest

from conftest import sample_rgb


@pytest.mark.parametrize("workers,photos,collected", [(2, 5, 3), (1, 3, 0)])
def test_the_other_sidecar_writers_start_once_a_worker_has_no_photo_left_or_at_once_without_a_pool(
        tmp_path, write_jpeg, workers, photos, collected):
    from keepers.core.io.catalog import Catalog
    from keepers.core.io.discover import discover
    from keepers.core.pipeline import Cull, Result
    from keepers.core.settings import Settings

    rgb = sample_rgb("coffee")[::4, ::4]  # small: the analysis is not what is tested
    todo, _ = discover([str(write_jpeg(rgb, f"p{i}.jpg")) for i in range(photos)])
    settings = Settings(catalog=tmp_path / "cat.db", workers=workers)
    done, started = [], []
    cull = Cull(settings, Catalog(settings.catalog), progress=lambda stage, n, total: done.append(n))
    results = {p.path: Result(p) for p in todo}
    cull._analyze(todo, results, lambda: started.append(done[-1]))
    # with a pool, the writers' exiftools but one (0.2 s of CPU each to start) wait for the core a finished worker
    # leaves: with 2 workers and 5 photos, once 4 are done (3 collected as the 4th comes in); without one, at once
    assert started == [collected]
    assert all(r.analyzed and r.error is None for r in results.values())

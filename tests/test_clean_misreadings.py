"""Clean real photos a cull gave a flaw reason they do not have (issue 21, "at most 5 % carry a flaw reason"): eyes
that no measure can read called soft, and a sloping hillside or converging facade lines called a tilted horizon.
Real files from ../shared/data through every analyzer and the judging step, as a cull judges them (docs/eval.md,
"Clean photos with a flaw reason")."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import frame_of
from PIL import Image

from keepers.core.analyzers import landscape


@pytest.fixture(scope="module")
def cull():
    """Judge a file as a cull does: every analyzer, then the judging step."""
    from keepers.core import pm
    from keepers.core.analyzers import run_all
    from keepers.core.io.discover import kind_of
    from keepers.core.io.loader import load
    from keepers.core.judge.judgement import judge
    from keepers.core.settings import Settings
    from keepers.core.types import Photo

    settings = Settings()
    analyzers = pm.analyzers(settings)
    return lambda path: judge(run_all(load(Photo(path, kind_of(path)), settings.analysis_size, settings.max_pixels),
                                      analyzers), settings)


def clean(shared_data, name: str) -> str:
    path = shared_data / "clean" / name
    if not path.is_file():
        pytest.skip(f"needs ../shared/data/clean/{name}")
    return str(path)


# an old man's eyes narrowed in the shade of his fez (film grain over them), a child's face lit by a candle: the eye
# region's fine detail stands nowhere clear of its own noise, and the blur measure reads its ceiling (8-9 px), which
# is no reading of focus; "Eyes not sharp" took 2.6 and 3.3 points and put the first photo under the line
@pytest.mark.parametrize("name", ["CBSD68/189080.jpg", "imagenet/n02948072_candle.JPEG"])
def test_eyes_no_measure_can_read_are_not_called_soft_and_the_photo_is_kept(shared_data, cull, name):
    v = cull(clean(shared_data, name))
    assert v.verdict == "good", (v.score, v.reasons)
    assert "out_of_focus" not in [r.code for r in v.reasons], v.reasons


# a lake under a hillside whose ridge falls 7.8 degrees across the frame, while the shore below it is level
def test_a_level_shore_under_a_sloping_ridge_is_not_a_tilted_horizon(shared_data, cull):
    v = cull(clean(shared_data, "CSun_Hays80/pond_sun_bvywucwhkqqwicrw.jpg"))
    assert "tilted_horizon" not in [r.code for r in v.reasons], v.reasons
    assert v.verdict == "good"


# facades seen at an angle: every line converges, none is a horizon, and the most level of them says the camera was
@pytest.mark.parametrize("name", ["CUrban100/img_040.jpg", "CUrban100/img_043.jpg"])
def test_converging_facade_lines_are_not_a_tilted_horizon(shared_data, name):
    rgb = np.asarray(Image.open(clean(shared_data, name)).convert("RGB"))
    assert abs(landscape.horizon(rgb)["angle"]) >= landscape.TILT[0]  # a sloping line was taken for the horizon
    reasons, data = landscape.check(frame_of(rgb), {})
    assert "tilted_horizon" not in [r.code for r in reasons], data

"""`keepers demo`: build a folder of real sample photos (scikit-image's bundled photos, BSD licence) plus variants
derived from them (blurred, shaken, noisy, under/over-exposed, a burst), then cull it."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

# name -> (scikit-image sample, camera ISO); the originals are real photos
ORIGINALS = {"astronaut": ("astronaut", 200), "chelsea": ("chelsea", 400), "coffee": ("coffee", 100),
             "rocket": ("rocket", 100), "motorcycle": ("motorcycle", 200)}
# variant -> (original, distortion, level): each should score below its original, for the matching reason
VARIANTS = {"chelsea_blurred": ("chelsea", "gaussian_blur", 3), "coffee_shaken": ("coffee", "motion_blur", 3),
            "astronaut_noisy": ("astronaut", "noise", 3), "coffee_dark": ("coffee", "underexpose", 3),
            "astronaut_bright": ("astronaut", "overexpose", 3)}
START = datetime(2026, 6, 20, 14, 30, 0)


def sample_photo(name: str) -> np.ndarray:
    """A real photo bundled with scikit-image, as RGB uint8 ('motorcycle' is the left view of its stereo pair)."""
    from skimage import data

    img = data.stereo_motorcycle()[0] if name in ("motorcycle", "motorcycle_left") else getattr(data, name)()
    return img[..., :3] if img.ndim == 3 else np.stack([img] * 3, -1)


def _exif(when: datetime, iso: int, exposure: float = 1 / 250) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Keepers", "Demo Camera"  # Make, Model
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    ifd[0x9291] = f"{when.microsecond // 10000:02d}"  # SubSecTimeOriginal
    ifd[0x8827] = iso
    ifd[0x829A] = exposure
    ifd[0x829D] = 5.6
    return exif


def _save(rgb: np.ndarray, path: Path, when: datetime, iso: int) -> None:
    Image.fromarray(rgb).save(path, quality=92, exif=_exif(when, iso))


def build(folder: Path) -> list[Path]:
    from keepers.core.lab import distort

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    src = {name: sample_photo(sample) for name, (sample, _) in ORIGINALS.items()}
    when = START
    for name, (_, iso) in ORIGINALS.items():
        when += timedelta(minutes=3)
        _save(src[name], folder / f"{name}.jpg", when, iso)
    for name, (orig, how, level) in VARIANTS.items():
        when += timedelta(minutes=3)
        _save(getattr(distort, how)(src[orig], level), folder / f"{name}.jpg", when, ORIGINALS[orig][1])
    # a burst: four frames 0.25 s apart, the camera drifting a few pixels; the third one shaken
    moto = src["motorcycle"]
    h, w = moto.shape[:2]
    when += timedelta(minutes=3)
    for i in range(4):
        frame = np.ascontiguousarray(moto[6 * i : h - 24 + 6 * i, 4 * i : w - 16 + 4 * i])
        if i == 2:
            frame = distort.motion_blur(frame, 3)
        _save(frame, folder / f"burst_{i + 1}.jpg", when + timedelta(milliseconds=250 * i), 200)
    return sorted(folder.iterdir())


def command(args, settings) -> int:
    from rich.console import Console

    from keepers.core.commands import cull as commands

    folder = Path(args.folder)
    files = build(folder)
    Console(stderr=True).print(f"built {len(files)} demo photos in {folder}/ from scikit-image's sample photos")
    args.paths, args.dry_run = [str(folder)], False
    rc = commands.cull(args, settings)
    if not args.json:
        Console().print(f"\nTry: .venv/bin/keepers show {folder}/chelsea_blurred.jpg\n"
                        f"     exiftool -s -Rating -Subject -HierarchicalSubject {folder}/*.xmp", highlight=False)
    return rc

"""One typed settings object. Values come from (lowest to highest): defaults here, the config file
(`<config dir>/keepers/config.toml`), environment variables `KEEPERS_<NAME>` and command-line options."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir("keepers", appauthor=False))


def config_path() -> Path:
    return Path(platformdirs.user_config_dir("keepers", appauthor=False)) / "config.toml"


class StarMap(BaseModel):
    """How the 1-10 score becomes stars. A photo scoring below `reject_below` is a reject (-1, shown as
    rejected in darktable, PickLabel=rejected in digiKam); otherwise it gets the most stars whose threshold it
    reaches (`thresholds[i]` is the score needed for i+1 stars), or 0 stars below the first."""

    reject_below: float = 3.0
    thresholds: list[float] = Field(default_factory=lambda: [3.0, 4.5, 6.0, 7.5, 9.0])

    @field_validator("thresholds")
    @classmethod
    def _five_rising(cls, v: list[float]) -> list[float]:
        if len(v) != 5 or any(b < a for a, b in zip(v, v[1:])):
            raise ValueError("thresholds must be 5 rising scores, one per star")
        return v

    def stars(self, score: float) -> int:
        if score < self.reject_below:
            return -1
        return sum(score >= t for t in self.thresholds)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEEPERS_", env_nested_delimiter="__", extra="ignore")

    catalog: Path = Field(default_factory=lambda: data_dir() / "catalog.db")
    # long side of the image analyzers see; JPEGs are DCT-scaled to the nearest size at or above it
    analysis_size: int = 1024
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    # a photo scoring below this is "bad"
    good_threshold: float = 5.0
    stars: StarMap = Field(default_factory=StarMap)
    host: str = "generic"
    # keyword vocabulary: general, food, apparel, travel or wedding (models/taxonomy.json)
    keyword_vocabulary: str = "general"
    overwrite_ratings: bool = False
    # score every photo for nudity (open_nsfw: `nsfw` in --json, 0-1). Off by default: ~25 ms a photo on one CPU
    # core, a fifth of a 24 MP cull, for a moderation signal a photographer culling a shoot rarely wants
    nsfw: bool = False
    # decompression-bomb guard: images with more pixels than this are refused, not decoded
    max_pixels: int = 250_000_000
    # which execution providers to try, best first; filtered by what onnxruntime offers
    providers: list[str] = Field(default_factory=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides) -> "Settings":
        """Defaults <- config file <- environment <- `overrides` (command-line options; None means unset)."""
        path = config_file or Path(os.environ.get("KEEPERS_CONFIG", config_path()))
        from_file = tomllib.loads(path.read_text()) if path.is_file() else {}
        env = cls()  # defaults + environment
        merged = {**from_file, **{k: getattr(env, k) for k in env.model_fields_set}}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**merged)

"""One typed settings object, owning everything config.toml holds. Values come from (lowest to highest): defaults
here, the config file (`--config FILE`, else KEEPERS_CONFIG, else `<config dir>/keepers/config.toml`), environment
variables `KEEPERS_<NAME>` (the daemon's: `KEEPERS_DAEMON_<NAME>`) and command-line options. The file is read here,
once, by `Settings.load`; the host adapters take `settings.labels`, the daemon `settings.daemon`."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keepers.core.errors import UserError


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


class DaemonSettings(BaseSettings):
    """The `[daemon]` table: how `keepers serve` / `keepers watch` run."""

    model_config = SettingsConfigDict(env_prefix="KEEPERS_DAEMON_", extra="ignore")

    # loopback only by default: the API reads files on this machine
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    threads: int = Field(8, ge=1, le=64)  # waitress worker threads
    store: Path | None = None  # keys, applications, jobs, watch queue; default: daemon.db beside the catalog
    watch: list[Path] = Field(default_factory=list)  # folders whose new photos are analysed as they arrive
    max_upload_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    # paths or files in one predict request (a job takes a whole shoot: sidecar/schemas.py MAX_JOB_INPUTS, 20,000)
    max_inputs: int = Field(1000, ge=1)
    settle_s: float = Field(1.0, ge=0.0)  # a watched file must keep its size this long before it is read
    watch_batch: int = Field(64, ge=1)  # queued files handed to one Cull run
    # 1: watched photos are analysed in the daemon with its loaded models; more: in that many worker processes
    watch_workers: int = Field(1, ge=1)
    warm_up: bool = True  # run every model once at start, so the first request does not pay for loading

    def store_path(self, catalog: Path) -> Path:
        return self.store or Path(catalog).with_name("daemon.db")

    def updated(self, **overrides) -> "DaemonSettings":
        """A copy with command-line options applied (None means unset), validated like the file's values."""
        # model_validate, not the constructor: the environment was read already and must not beat an option
        try:
            return type(self).model_validate({**self.model_dump(), **{k: v for k, v in overrides.items()
                                                                       if v is not None}})
        except ValidationError as e:  # as a bad setting is said (`keepers serve --port -5`: pydantic's 4 lines)
            raise UserError(f"bad option: {said(e, OPTIONS)}") from None


# the command-line option that sets a daemon setting, where its name is not the setting's
OPTIONS = {"host": "--host", "port": "--port", "settle_s": "--settle"}


def said(e: ValidationError, names: dict[str, str] | None = None) -> str:
    """pydantic's errors as 'name: what is wrong (given VALUE)', one clause each; `names` renames a setting (to the
    option that set it)."""
    def name(loc) -> str:
        dotted = ".".join(map(str, loc)) or "settings"
        return (names or {}).get(dotted, dotted)
    return "; ".join(f"{name(x['loc'])}: {x['msg'][:1].lower()}{x['msg'][1:]}"
                     + (f" (given {x['input']!r})" if not isinstance(x.get("input"), dict) else "")
                     for x in e.errors())


def _layered(cls, table: dict, overrides: dict):
    """Defaults <- `table` (the config file's) <- environment <- `overrides` (None means unset)."""
    env = cls()  # defaults + environment
    merged = {**table, **{k: getattr(env, k) for k in env.model_fields_set}}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**merged)


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
    # a taste profile (`keepers taste`) whose personal term the judging step adds; none: the general score alone
    taste: str | None = None
    overwrite_ratings: bool = False
    # a host that reads no sidecar for a file (Lightroom: JPEG, TIFF, PSD, PNG, DNG) gets the verdict written into
    # the file itself (its XMP, exiftool's way); off: its plug-in applies it. keep_originals: the file as it was
    # stays beside it as <name>_original
    embed: bool = False
    keep_originals: bool = False
    # score every photo for nudity (open_nsfw: `nsfw` in --json, 0-1). Off by default: ~25 ms a photo on one CPU
    # core, a fifth of a 24 MP cull, for a moderation signal a photographer culling a shoot rarely wants
    nsfw: bool = False
    # decompression-bomb guard: images with more pixels than this are refused, not decoded
    max_pixels: int = 250_000_000
    # which execution providers to try, best first; filtered by what onnxruntime offers
    providers: list[str] = Field(default_factory=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    # the `[labels]` table: colour label per role (reject, pick, alternate, keeper, other; "" for none), over the
    # defaults of keepers.core.io.hosts; the host adapters check the names
    labels: dict[str, str] = Field(default_factory=dict)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides) -> "Settings":
        """Defaults <- config file <- environment <- `overrides` (command-line options; None means unset)."""
        path = Path(config_file or os.environ.get("KEEPERS_CONFIG") or config_path())
        if config_file is not None and not path.is_file():  # a file named on the command line must be there
            raise UserError(f"config file {path} not found")
        try:
            from_file = tomllib.loads(path.read_text()) if path.is_file() else {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise UserError(f"cannot read the config file {path}: {e}") from None
        try:
            # the nested table is layered on its own: passed as a dict it would skip KEEPERS_DAEMON_<NAME>
            daemon = _layered(DaemonSettings, from_file.pop("daemon", {}), {})
            return _layered(cls, {**from_file, "daemon": daemon}, overrides)
        except ValidationError as e:  # said as the user's mistake, without a traceback or pydantic's wording
            raise UserError(f"bad setting (config file {path} or KEEPERS_* variables): {said(e)}") from None

"""The daemon's own settings: the `[daemon]` table of the same config.toml, then `KEEPERS_DAEMON_<NAME>` variables."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from keepers.core.settings import config_path


class DaemonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEEPERS_DAEMON_", extra="ignore")

    # loopback only by default: the API reads files on this machine
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    threads: int = Field(8, ge=1, le=64)  # waitress worker threads
    store: Path | None = None  # keys, applications, jobs, watch queue; default: daemon.db beside the catalog
    watch: list[Path] = Field(default_factory=list)  # folders whose new photos are analysed as they arrive
    max_upload_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    max_inputs: int = Field(1000, ge=1)  # paths or files in one predict request or job
    settle_s: float = Field(1.0, ge=0.0)  # a watched file must keep its size this long before it is read
    watch_batch: int = Field(64, ge=1)  # queued files handed to one Cull run
    # 1: watched photos are analysed in the daemon with its loaded models; more: in that many worker processes
    watch_workers: int = Field(1, ge=1)
    warm_up: bool = True  # run every model once at start, so the first request does not pay for loading

    def store_path(self, catalog: Path) -> Path:
        return self.store or Path(catalog).with_name("daemon.db")


def load(config_file: Path | None = None, **overrides) -> DaemonSettings:
    """Defaults <- config file's [daemon] table <- environment <- `overrides` (None means unset)."""
    path = config_file or Path(os.environ.get("KEEPERS_CONFIG", config_path()))
    table = tomllib.loads(path.read_text()).get("daemon", {}) if path.is_file() else {}
    env = DaemonSettings()
    merged = {**table, **{k: getattr(env, k) for k in env.model_fields_set}}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return DaemonSettings(**merged)

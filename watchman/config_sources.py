"""The layers the settings model reads below the CLI flags: the environment and the TOML file
of the load in progress.

``load_settings`` (``watchman/config_loading.py``) sets the two context variables for the
length of one load; ``Settings`` (``watchman/config.py``) builds these sources from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from pydantic_settings import EnvSettingsSource, PydanticBaseSettingsSource

# The TOML data and the environment of the load in progress. Context variables rather
# than class attributes so that two loads (tests, threads) never see each other's.
current_toml: ContextVar[dict[str, Any] | None] = ContextVar("current_toml", default=None)
current_environ: ContextVar[Mapping[str, str] | None] = ContextVar("current_environ", default=None)


class MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the load's mapping, not os.environ.

    Outside ``load_settings`` (``Settings()`` in a test) the mapping is empty: the
    settings model never reads the process's environment on its own.
    """

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = current_environ.get() or {}
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in environ.items()
            if not (self.env_ignore_empty and value == "")
        }


class TomlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return (current_toml.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(current_toml.get() or {})

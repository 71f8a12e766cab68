"""Benchmarks: commands that print figures (never asserted in tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.config import EngineSettings


def engine_settings(**changes: object) -> EngineSettings:
    """The engine settings that the environment, ``.env`` and ``verbatim.toml`` give (the
    ``VERBATIM_*`` variables, e.g. ``VERBATIM_ENCODER_QUESTIONS=same``), with ``changes`` on
    top and no progress bars: a benchmark measures what the settings in use give."""
    from bot.settings import Settings
    from retrieval.config import EngineSettings

    chosen = Settings().engine().model_dump()
    return EngineSettings.model_validate({**chosen, "progress": False, **changes})

"""The one settings object: flags override environment, which overrides the config file.

Environment variables use the ``VERBATIM_`` prefix (``VERBATIM_INDEX_DIR``, ``VERBATIM_MODEL``,
``VERBATIM_TOP_K``, ...); the Telegram ones keep their customary names
(``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_BASE_URL``). A ``.env`` file in the working directory
is read too. The config file is TOML, named by ``--config`` or ``VERBATIM_CONFIG``
(default ``verbatim.toml`` if present).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from embeddings import DEFAULT_MODEL
from retrieval.config import (
    DEFAULT_MILVUS_PREFIX,
    DEFAULT_MILVUS_URI,
    FETCH_TIMEOUT_SECONDS,
    MAX_ARTICLE_BYTES,
    EncoderBackend,
    EngineSettings,
    FetchPolicy,
    IndexType,
    QuestionModel,
    Retriever,
    StoreKind,
)
from retrieval.errors import VerbatimError
from retrieval.split.language import DEFAULT_LANGUAGE, check_code

DEFAULT_INDEX_DIR = Path(".verbatim/index")
DEFAULT_CORPUS = Path("seeds")
DEFAULT_CONFIG_FILE = Path("verbatim.toml")
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
ENV_PREFIX = "VERBATIM_"
#: Characters of a rejected value quoted back in a message.
SHOWN_INPUT_CHARS = 40
#: What pydantic puts before the message of a ValueError raised by a validator.
_VALUE_ERROR_PREFIX = "Value error, "


#: Who may add articles in chat: the admins only, or everyone the bot serves.
ArticlesFrom = Literal["admins", "allowed"]

#: Comma-separated ids in the environment (``"1,2"``), a list in the config file.
IdSet = Annotated[frozenset[int], NoDecode]


def _config_file() -> Path:
    return Path(os.environ.get("VERBATIM_CONFIG", str(DEFAULT_CONFIG_FILE)))


class Settings(BaseSettings):
    """Everything configurable about Verbatim, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # engine
    index_dir: Path = DEFAULT_INDEX_DIR
    corpus: Path = DEFAULT_CORPUS
    model: str = DEFAULT_MODEL
    top_k: int = Field(3, ge=1, le=20)
    retriever: Retriever = "hybrid"
    #: Unset: each retriever's own decline threshold (the ranker model's for hybrid).
    min_relevance: float | None = None
    index_type: IndexType = "auto"
    encoder: EncoderBackend = "onnx-int8"
    encoder_spin: bool = True
    encoder_questions: QuestionModel = "lean"
    passage_sentences: int = Field(6, ge=1, le=50)
    batch_size: int = Field(64, ge=1, le=4096)
    store: StoreKind = Field(
        "embedded", description="embedded (the index folder) or milvus (mirrored to a server)"
    )
    milvus_uri: str = Field(
        DEFAULT_MILVUS_URI, description="a Milvus server (http://host:19530) or a Milvus Lite file"
    )
    milvus_prefix: str = Field(DEFAULT_MILVUS_PREFIX, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
    ranker: str | None = Field(
        None,
        description="a ranker model file trained for VERBATIM_MODEL (retrieval.learn.train)",
    )
    language: str | None = Field(
        None,
        description=(
            "the corpus language (ISO 639-1) indexes are built for; unset: an existing index "
            f"keeps its own, a new one is {DEFAULT_LANGUAGE!r}"
        ),
    )

    # telegram
    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "VERBATIM_TELEGRAM_BOT_TOKEN")
    )
    telegram_api_base_url: str = Field(
        DEFAULT_API_BASE_URL,
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "VERBATIM_TELEGRAM_API_BASE_URL"),
    )
    allowed_user_ids: IdSet = frozenset()
    allowed_chat_ids: IdSet = frozenset()
    admin_user_ids: IdSet = frozenset()
    rate_limit_per_minute: int = Field(20, ge=1, description="questions per user per minute")
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_secret_token: SecretStr | None = None
    feedback_db: Path = Path(".verbatim/feedback.sqlite3")
    state_ttl_seconds: int = Field(24 * 3600, ge=60)
    followup_ttl_seconds: int = Field(
        30 * 60, ge=60, description="how long a chat's last answer is the context of a follow-up"
    )
    telegram_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="connect/read/write timeout of each Bot API call"
    )
    heartbeat_file: Path | None = Field(
        None, description="touched every 30 s while the bot runs (for a container health check)"
    )

    # articles sent in: links and files
    articles_from: ArticlesFrom = Field(
        "admins", description="who may add articles in chat: admins, or every allowed user"
    )
    articles_per_hour: int = Field(20, ge=1, description="articles each user may add per hour")
    fetch_allow_private: bool = Field(
        False, description="fetch links to private and loopback addresses (an intranet)"
    )
    fetch_max_bytes: int = Field(
        MAX_ARTICLE_BYTES, ge=1, description="largest article fetched or downloaded, in bytes"
    )
    fetch_timeout_seconds: float = Field(
        FETCH_TIMEOUT_SECONDS, gt=0, le=300, description="connect and read timeout of a fetch"
    )

    @field_validator("language")
    @classmethod
    def _supported_language(cls, value: str | None) -> str | None:
        return None if value is None else check_code(value)

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        """Accept ``"1,2, 3"`` from the environment as well as lists."""
        if isinstance(value, str):
            return frozenset(
                int(part) for part in value.replace(";", ",").split(",") if part.strip()
            )
        if isinstance(value, int):
            return frozenset({value})
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)

    def engine(self) -> EngineSettings:
        """The part of the settings the retrieval layer needs."""
        return EngineSettings(
            model=self.model,
            top_k=self.top_k,
            retriever=self.retriever,
            min_relevance=self.min_relevance,
            index_type=self.index_type,
            encoder=self.encoder,
            encoder_spin=self.encoder_spin,
            encoder_questions=self.encoder_questions,
            passage_sentences=self.passage_sentences,
            batch_size=self.batch_size,
            store=self.store,
            milvus_uri=self.milvus_uri,
            milvus_prefix=self.milvus_prefix,
            language=self.language,
            ranker=self.ranker,
        )

    def fetch_policy(self) -> FetchPolicy:
        """What a fetch of an article sent as a link may do."""
        return FetchPolicy(
            max_bytes=self.fetch_max_bytes,
            timeout_seconds=self.fetch_timeout_seconds,
            allow_private=self.fetch_allow_private,
        )


class SettingsError(VerbatimError):
    """A flag, environment variable or config file entry has a value that cannot be used."""


def load_settings(flags: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``overrides`` (from flags) win, ``None`` values are ignored.

    ``flags`` names the flag of each override (``{"top_k": "-k"}``) for messages. Raises
    SettingsError with one line naming each bad value, where it came from and what is wrong.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = [_problem(error, given, flags or {}) for error in exc.errors()]
        raise SettingsError("; ".join(problems) + ".") from exc


def _problem(error: Any, given: Mapping[str, Any], flags: Mapping[str, str]) -> str:
    """One bad value: ``-k: Input should be greater than or equal to 1 (got 0)``."""
    field = str(error["loc"][0]) if error["loc"] else ""
    message = str(error["msg"]).removeprefix(_VALUE_ERROR_PREFIX)
    shown = repr(error.get("input"))
    if len(shown) > SHOWN_INPUT_CHARS:
        shown = shown[:SHOWN_INPUT_CHARS] + "…"
    return f"{_source_of(field, given, flags)}: {message} (got {shown})"


def _source_of(field: str, given: Mapping[str, Any], flags: Mapping[str, str]) -> str:
    """Where a field's value was set: its flag, else its variable or config file key."""
    if field in given:
        return flags.get(field, field)
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        env = str(alias.choices[0])
    else:
        env = f"{ENV_PREFIX}{field.upper()}"
    return f"{env} (or {field} in {_config_file()})"

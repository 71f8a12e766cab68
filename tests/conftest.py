"""Fixtures shared across the test packages: the real model and a real index of ``seeds/``.

The expensive ones are session-scoped: the model loads once and the seeds index is built once,
in a temporary folder, per test run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index.build import build_index
from tests.support.milvus import MilvusServer, server_binary

REPO = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO / "seeds"
TEST_DATA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def engine_settings() -> EngineSettings:
    """Default engine settings without progress bars."""
    return EngineSettings(progress=False)


@pytest.fixture(scope="session")
def encoder(engine_settings: EngineSettings) -> Encoder:
    """The real default model, loaded once per run."""
    return Encoder(engine_settings.model, batch_size=engine_settings.batch_size)


@pytest.fixture(scope="session")
def seeds_index(
    tmp_path_factory: pytest.TempPathFactory, engine_settings: EngineSettings, encoder: Encoder
) -> Path:
    """A real index of ``seeds/`` in a temporary folder (treat it as read-only)."""
    index_dir = tmp_path_factory.mktemp("seeds-index")
    build_index(SEEDS_DIR, index_dir, engine_settings, encoder=encoder)
    return index_dir


@pytest.fixture(scope="session")
def seeds_engine(seeds_index: Path, engine_settings: EngineSettings, encoder: Encoder) -> Engine:
    """The engine over ``seeds_index``, as the faces open it."""
    return Engine.open(seeds_index, engine_settings, encoder=encoder)


@pytest.fixture
def milvus_server(tmp_path: Path) -> Iterator[MilvusServer]:
    """A running milvus-lite server of the test's own, on loopback (it may kill and restart it)."""
    pytest.importorskip("pymilvus", reason="the Milvus store needs pymilvus (the cluster extra)")
    binary = server_binary()
    if binary is None:
        pytest.skip("milvus-lite is not installed (pip install 'verbatim-qa[cluster]')")
    data = tmp_path / "milvus-data"
    data.mkdir()
    server = MilvusServer(binary, data, tmp_path / "milvus.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mirrored_seeds(
    seeds_index: Path, engine_settings: EngineSettings, milvus_server: MilvusServer
) -> EngineSettings:
    """Settings that answer from ``seeds_index`` mirrored into ``milvus_server``."""
    from retrieval.index.milvus_sync import sync

    settings = engine_settings.model_copy(
        update={"store": "milvus", "milvus_uri": milvus_server.uri, "milvus_prefix": "seeds_"}
    )
    sync(seeds_index, settings, lambda _message: None)  # reads the seeds index, writes Milvus
    return settings


_LOOPBACK_PREFIXES = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any network connection that is not to this machine's loopback."""
    import socket

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _check(address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith(_LOOPBACK_PREFIXES) or host.startswith("/")):
            return
        if not isinstance(host, str):  # AF_UNIX paths as bytes
            return
        raise ConnectionRefusedError(f"tests may only connect to loopback, not {host!r}")

    def connect(self: socket.socket, address: object) -> None:
        _check(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        _check(address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)

"""A real Milvus server for tests: ``milvus-lite server`` on a loopback port, killable.

The server keeps its data in one folder; :meth:`MilvusServer.kill` stops it as a crash would
(SIGKILL) and :meth:`MilvusServer.start` brings it back on the same port and folder, as an
operator restarting it would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

#: Seconds the server may take to start answering.
START_SECONDS = 90
#: Seconds between two "are you up?" calls while it starts.
POLL_SECONDS = 0.3
#: Seconds a probe call may take.
PROBE_TIMEOUT = 2
#: Seconds to wait for a killed or stopped server to exit.
EXIT_SECONDS = 30
#: The server's environment: numpy's BLAS on one thread. milvus-lite computes distances with
#: numpy from its gRPC worker threads; with a BLAS thread per core, the idle ones spin and a
#: search cost 2-3 times the CPU on 2 cores (measured: a 1,533-row search 14.8 -> 4.3 ms).
SERVER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def server_binary() -> str | None:
    """The ``milvus-lite`` command beside this Python, else on PATH; None when not installed."""
    beside = Path(sys.executable).parent / "milvus-lite"
    return str(beside) if beside.exists() else shutil.which("milvus-lite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MilvusServer:
    """One ``milvus-lite server`` process at a time, on one port, over one data folder."""

    def __init__(self, binary: str, data_dir: Path, log_file: Path) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.log_file = log_file
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers (RuntimeError when it does not)."""
        from pymilvus import MilvusClient

        if self._log is None:
            self._log = self.log_file.open("a")
        self._process = subprocess.Popen(
            [
                self.binary,
                "server",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=os.environ | SERVER_ENV,
        )
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                MilvusClient(uri=self.uri, timeout=PROBE_TIMEOUT).list_collections()
                return
            except Exception as exc:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"milvus-lite server did not start (see {self.log_file})"
                    ) from exc
                time.sleep(POLL_SECONDS)

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used (user and system), where /proc tells it."""
        if self._process is None:
            return None
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        """Stop the server at once, as a crash would (SIGKILL): nothing is flushed or closed."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=EXIT_SECONDS)
            self._process = None

    def stop(self) -> None:
        """Stop the server politely (SIGTERM) and close its log."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=EXIT_SECONDS)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

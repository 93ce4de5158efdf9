"""``serve``'s embedded Redis keeps its data across a restart, on a socket only this user can open."""

from __future__ import annotations

import stat
from pathlib import Path

from webui.cli import start_embedded_redis
from worker.settings import Settings


def test_embedded_redis_persists_across_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    first = start_embedded_redis(settings)
    try:
        first.set("formdigits:probe", b"queued job")
        socket = settings.embedded_socket
        assert stat.S_IMODE(socket.stat().st_mode) == 0o700
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    finally:
        first.shutdown(save=True)
    assert (data_dir / "appendonly.aof").exists()
    second = start_embedded_redis(settings)
    try:
        assert second.get("formdigits:probe") == b"queued job"
    finally:
        second.shutdown(nosave=True)

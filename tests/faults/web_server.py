"""The web app alone on a loopback port, for the fault tests: ``python web_server.py HOST PORT``.

Settings come from the environment (``Settings.from_env``), as in production. SIGTERM stops it.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from werkzeug.serving import make_server

from webui.app import create_app
from worker.settings import Settings


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    server = make_server(host, port, create_app(Settings.from_env()), threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()

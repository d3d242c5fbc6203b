"""One API server process for the HTTP benchmark: `python -m bench.api_server PORT on|off`.

`off` serves the same schema and data with the field policy, row scope and audit switched
off, which nothing but this benchmark can ask for.
"""

from __future__ import annotations

import sys

import uvicorn

from api.app import create_app
from kernel.settings import get_settings


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    app = create_app(get_settings(), enforce=mode == "on")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

"""Per-logger level policy: INFO (or what you choose) everywhere, DEBUG only for the loggers an
environment variable names."""
import logging
import os
from typing import Optional


def apply_level_policy(default: str = "INFO", env: str = "LOGSHIP_DEBUG", environ: Optional[dict] = None) -> list:
    """Sets the root logger to `default`; the loggers listed in `env` (comma-separated, e.g.
    `LOGSHIP_DEBUG=payment.db,urllib3`; `*` for all) to DEBUG. Returns the loggers set to DEBUG."""
    environ = os.environ if environ is None else environ
    logging.getLogger().setLevel(default.upper())
    names = [n.strip() for n in environ.get(env, "").split(",") if n.strip()]
    if "*" in names:
        logging.getLogger().setLevel(logging.DEBUG)
        return ["*"]
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    return names

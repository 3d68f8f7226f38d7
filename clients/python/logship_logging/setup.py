"""One call to log the way the logship agent parses best."""
import logging
import sys
from typing import Iterable, Optional

from .formatter import JSONFormatter
from .levels import apply_level_policy
from .masking import MaskingFilter
from .trace import TraceContextFilter


def setup(service: str, stream=None, filename: Optional[str] = None, level: str = "INFO",
          mask_patterns: Optional[Iterable[str]] = None, static_fields: Optional[dict] = None) -> logging.Handler:
    """Adds one handler to the root logger: JSON lines (to `filename`, else `stream`, else
    stderr) with trace ids and masking; applies the level policy (`LOGSHIP_DEBUG`)."""
    handler = logging.FileHandler(filename, encoding="utf-8") if filename else logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter(service=service, static_fields=static_fields))
    handler.addFilter(TraceContextFilter())
    handler.addFilter(MaskingFilter(mask_patterns))
    logging.getLogger().addHandler(handler)
    apply_level_policy(level)
    return handler

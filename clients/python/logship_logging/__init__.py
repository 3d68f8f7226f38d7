"""Structured logging for services whose logs logship collects.

    import logging, logship_logging
    logship_logging.setup(service="payment")            # JSON lines on stderr, trace ids, masking
    app.wsgi_app = logship_logging.WSGIMiddleware(app.wsgi_app)   # Flask
    app.add_middleware(logship_logging.ASGIMiddleware)            # FastAPI / Starlette

Standard library only (Python >= 3.9). When OpenTelemetry is installed and a span is
recording, its trace and span ids are used instead of the middleware's.
"""
from .formatter import JSONFormatter
from .levels import apply_level_policy
from .masking import MaskingFilter
from .setup import setup
from .trace import (ASGIMiddleware, TraceContext, TraceContextFilter, WSGIMiddleware, bind_trace,
                    current_trace, make_traceparent, parse_traceparent)

__all__ = [
    "ASGIMiddleware", "JSONFormatter", "MaskingFilter", "TraceContext", "TraceContextFilter", "WSGIMiddleware",
    "apply_level_policy", "bind_trace", "current_trace", "make_traceparent", "parse_traceparent", "setup",
]

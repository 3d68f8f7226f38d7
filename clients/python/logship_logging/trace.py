"""W3C trace context: parse and create `traceparent`, bind it for a request (contextvar), and
the WSGI / ASGI middleware that do so for every request."""
import contextvars
import logging
import re
import secrets
from typing import NamedTuple, Optional

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


class TraceContext(NamedTuple):
    trace_id: str
    span_id: str
    sampled: bool = True

    @property
    def traceparent(self) -> str:
        return make_traceparent(self.trace_id, self.span_id, self.sampled)


_current: contextvars.ContextVar = contextvars.ContextVar("logship_trace", default=None)


def parse_traceparent(header: Optional[str]) -> Optional[TraceContext]:
    """The trace context of a `traceparent` header, or None when absent or invalid
    (W3C Trace Context: version ff, all-zero ids and version 00 with extra fields are invalid)."""
    if not header:
        return None
    match = _TRACEPARENT.match(header.strip().lower())
    if not match:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return None
    return TraceContext(trace_id, span_id, bool(int(flags, 16) & 1))


def make_traceparent(trace_id: Optional[str] = None, span_id: Optional[str] = None, sampled: bool = True) -> str:
    """A `traceparent` header value; new random ids where none are given."""
    return "00-%s-%s-%s" % (trace_id or secrets.token_hex(16), span_id or secrets.token_hex(8), "01" if sampled else "00")


def _otel_context() -> Optional[TraceContext]:
    try:
        from opentelemetry import trace as otel  # optional
    except ImportError:
        return None
    context = otel.get_current_span().get_span_context()
    if not context or not context.is_valid:
        return None
    return TraceContext("%032x" % context.trace_id, "%016x" % context.span_id, bool(context.trace_flags & 1))


def current_trace() -> Optional[TraceContext]:
    """The OpenTelemetry span when one is active, else what `bind_trace` bound."""
    return _otel_context() or _current.get()


def bind_trace(traceparent: Optional[str] = None) -> contextvars.Token:
    """Binds the trace of an incoming `traceparent` (a new span of it), or starts a new trace.
    Returns the token for `_current.reset`; the middleware do this for you."""
    parent = parse_traceparent(traceparent)
    trace_id = parent.trace_id if parent else secrets.token_hex(16)
    return _current.set(TraceContext(trace_id, secrets.token_hex(8), parent.sampled if parent else True))


def unbind_trace(token: contextvars.Token) -> None:
    _current.reset(token)


class TraceContextFilter(logging.Filter):
    """Sets `record.trace_id` and `record.span_id` from the current trace (when there is one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_trace()
        if context and not getattr(record, "trace_id", None):
            record.trace_id = context.trace_id
            record.span_id = context.span_id
        return True


class WSGIMiddleware:
    """Binds the request's `traceparent` (or a new trace) while the app handles it, and answers
    with the `traceparent` of the request's span. `app.wsgi_app = WSGIMiddleware(app.wsgi_app)`."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        token = bind_trace(environ.get("HTTP_TRACEPARENT"))
        context = _current.get()

        def start(status, headers, exc_info=None):
            return start_response(status, list(headers) + [("traceparent", context.traceparent)], exc_info)

        try:
            return self.app(environ, start)
        finally:
            unbind_trace(token)


class ASGIMiddleware:
    """The same for ASGI apps (FastAPI, Starlette): `app.add_middleware(ASGIMiddleware)` or
    `app = ASGIMiddleware(app)`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == b"traceparent"), None)
        token = bind_trace(header)
        context = _current.get()

        async def send_with_trace(message):
            if message.get("type") == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers") or []) + [(b"traceparent", context.traceparent.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            unbind_trace(token)

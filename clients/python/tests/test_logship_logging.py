import asyncio
import io
import json
import logging

import pytest

import logship_logging as ll
from logship_logging.masking import mask_text
from logship_logging.trace import _current


@pytest.fixture
def capture():
    stream = io.StringIO()
    logger = logging.getLogger("test.capture")
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ll.JSONFormatter(service="payment", static_fields={"env": "test"}))
    handler.addFilter(ll.TraceContextFilter())
    handler.addFilter(ll.MaskingFilter(patterns=[r"user-\d+"]))
    logger.addHandler(handler)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]
    return logger, lines


def test_fields_follow_the_event_schema(capture):
    logger, lines = capture
    logger.warning("charged %s cents", 1250, extra={"order_id": 17, "duration_ms": 12.5})
    event = lines()[0]
    assert event["log"] == {"level": "WARN", "logger": "test.capture"}
    assert event["message"] == "charged 1250 cents"
    assert event["service"] == {"name": "payment"}
    assert event["order_id"] == 17 and event["duration_ms"] == 12.5 and event["env"] == "test"
    assert event["@timestamp"].endswith("Z") and len(event["@timestamp"]) == 24
    assert "trace" not in event


def test_an_exception_is_one_event_with_its_traceback(capture):
    logger, lines = capture
    try:
        raise ValueError("card declined")
    except ValueError:
        logger.exception("charge failed")
    (event,) = lines()
    assert event["log"]["level"] == "ERROR"
    assert event["error"]["type"] == "ValueError" and event["error"]["message"] == "card declined"
    assert event["error"]["stack_trace"].startswith("Traceback (most recent call last):")
    assert event["error"]["stack_trace"].endswith("ValueError: card declined")


def test_traceparent_parse_and_create():
    context = ll.parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert context == ll.TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True)
    assert ll.parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00").sampled is False
    for bad in [None, "", "garbage", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"]:
        assert ll.parse_traceparent(bad) is None, bad
    made = ll.make_traceparent()
    parsed = ll.parse_traceparent(made)
    assert parsed is not None and made == parsed.traceparent
    assert ll.make_traceparent("a" * 32, "b" * 16, sampled=False) == "00-" + "a" * 32 + "-" + "b" * 16 + "-00"


def test_wsgi_middleware_binds_the_incoming_trace_for_the_request(capture):
    logger, lines = capture
    seen = {}

    def app(environ, start_response):
        logger.info("handling")
        seen["context"] = ll.current_trace()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    headers = {}
    body = ll.WSGIMiddleware(app)({"HTTP_TRACEPARENT": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                                  lambda status, h, exc=None: headers.update(h))
    assert list(body) == [b"ok"]
    assert seen["context"].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert seen["context"].span_id != "00f067aa0ba902b7", "a new span of the caller's trace"
    assert headers["traceparent"] == seen["context"].traceparent
    assert lines()[0]["trace"]["id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert lines()[0]["span"]["id"] == seen["context"].span_id
    assert _current.get() is None, "unbound after the request"
    # Without a header a new trace starts.
    ll.WSGIMiddleware(app)({}, lambda *a: None)
    assert len(seen["context"].trace_id) == 32 and seen["context"].trace_id != "4bf92f3577b34da6a3ce929d0e0e4736"


def test_asgi_middleware_binds_the_incoming_trace_for_the_request(capture):
    logger, lines = capture
    sent = []

    async def app(scope, receive, send):
        logger.info("handling")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]}
    asyncio.run(ll.ASGIMiddleware(app)(scope, None, send))
    assert lines()[0]["trace"]["id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    start = sent[0]
    assert dict(start["headers"])[b"traceparent"].decode().split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    asyncio.run(ll.ASGIMiddleware(app)({"type": "lifespan"}, None, send))  # passes other scopes through


def test_an_opentelemetry_span_wins_when_there_is_one(capture):
    trace = pytest.importorskip("opentelemetry.trace")
    logger, lines = capture
    context = trace.SpanContext(trace_id=0x1234, span_id=0x99, is_remote=False, trace_flags=trace.TraceFlags(1))
    token = ll.bind_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    try:
        with trace.use_span(trace.NonRecordingSpan(context)):
            logger.info("inside a span")
        logger.info("outside")
    finally:
        _current.reset(token)
    inside, outside = lines()
    assert inside["trace"]["id"] == "%032x" % 0x1234 and inside["span"]["id"] == "%016x" % 0x99
    assert outside["trace"]["id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_secrets_are_masked_in_messages_and_extra_fields(capture):
    logger, lines = capture
    logger.info("login password=hunter2 token: abc123 for user-42", extra={"api_key": "k-1", "note": "Authorization: Bearer eyJhbGciOi.x"})
    logger.info("paid with 4111 1111 1111 1111, order 1234567890123")
    logger.info("user %s logged in with password=%s", "bob", "secret9")
    first, second, third = lines()
    assert first["message"] == "login password=[MASKED] token: [MASKED] for [MASKED]"
    assert first["api_key"] == "[MASKED]" and first["note"] == "Authorization: Bearer [MASKED]"
    assert second["message"] == "paid with [MASKED], order 1234567890123", "a Luhn-valid card number only"
    assert third["message"] == "user bob logged in with password=[MASKED]", "arguments are formatted, then masked"
    assert mask_text('{"db_password": "s3cr3t", "user": "bob"}') == '{"db_password": "[MASKED]", "user": "bob"}'


def test_level_policy_enables_debug_only_where_asked():
    root = logging.getLogger()
    before = root.level
    try:
        enabled = ll.apply_level_policy("INFO", environ={"LOGSHIP_DEBUG": "payment.db, urllib3"})
        assert enabled == ["payment.db", "urllib3"]
        assert root.level == logging.INFO
        assert logging.getLogger("payment.db").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("payment.api").isEnabledFor(logging.DEBUG)
        assert ll.apply_level_policy("WARNING", environ={}) == [] and root.level == logging.WARNING
        assert ll.apply_level_policy("INFO", environ={"LOGSHIP_DEBUG": "*"}) == ["*"] and root.level == logging.DEBUG
    finally:
        root.setLevel(before)
        logging.getLogger("payment.db").setLevel(logging.NOTSET)
        logging.getLogger("urllib3").setLevel(logging.NOTSET)

"""One JSON object per record, with the event field names of logship's DESIGN.md."""
import datetime
import json
import logging
import traceback
from typing import Optional

from .trace import current_trace

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "trace_id", "span_id"}
_LEVELS = {"WARNING": "WARN", "FATAL": "CRITICAL"}


class JSONFormatter(logging.Formatter):
    """`@timestamp` (UTC, ms), `log.level` (DEBUG INFO WARN ERROR CRITICAL), `log.logger`,
    `message`, `service.name`, `trace.id`, `span.id`, `error.type|message|stack_trace` (the
    formatted traceback) and the `extra=` fields, kept as top-level keys."""

    def __init__(self, service: Optional[str] = None, static_fields: Optional[dict] = None):
        super().__init__()
        self.service = service
        self.static_fields = dict(static_fields or {})

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
        event = {
            "@timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (at.microsecond // 1000),
            "log": {"level": _LEVELS.get(record.levelname, record.levelname), "logger": record.name},
            "message": record.getMessage(),
        }
        if self.service:
            event["service"] = {"name": self.service}
        trace_id, span_id = getattr(record, "trace_id", None), getattr(record, "span_id", None)
        if not trace_id:
            context = current_trace()
            if context:
                trace_id, span_id = context.trace_id, context.span_id
        if trace_id:
            event["trace"] = {"id": trace_id}
        if span_id:
            event["span"] = {"id": span_id}
        if record.exc_info and record.exc_info[0] is not None:
            kind, value, _ = record.exc_info
            event["error"] = {"type": kind.__name__, "message": str(value),
                              "stack_trace": "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")}
        elif record.stack_info:
            event["error"] = {"stack_trace": record.stack_info}
        for key, value in self.static_fields.items():
            event.setdefault(key, value)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in event:
                event[key] = value
        return json.dumps(event, default=str, ensure_ascii=False)

"""Masks secrets at the source: passwords, tokens, Authorization headers, card numbers and
custom patterns, in the message and in `extra=` fields."""
import logging
import re
from typing import Iterable, Optional

MASK = "[MASKED]"
_SECRET_KEY = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|authorization|credential|private[_-]?key)")
_DEFAULT = [
    # Authorization: Bearer abc / Basic xyz
    re.compile(r"(?i)(authorization\s*[:=]\s*)(bearer|basic|token|apikey)?\s*[^\s,;\"']+"),
    # password=..., "token": "...", api_key: ...
    re.compile(r"(?i)((?:[\w.-]*?)(?:pass(?:word|wd)?|secret|token|api[_-]?key|credential)[\w.-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}]+)"),
    # card numbers: 13-19 digits, optionally grouped by spaces or dashes
    re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
]


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        n = int(ch)
        if i % 2 == parity:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def mask_text(text: str, patterns: Iterable = ()) -> str:
    auth, keyed, card = _DEFAULT
    text = auth.sub(lambda m: m.group(1) + ((m.group(2) + " ") if m.group(2) else "") + MASK, text)
    text = keyed.sub(lambda m: m.group(1) + MASK, text)
    text = card.sub(lambda m: MASK if _luhn(re.sub(r"\D", "", m.group(0))) else m.group(0), text)
    for pattern in patterns:
        text = pattern.sub(MASK, text)
    return text


class MaskingFilter(logging.Filter):
    """Add to a handler (or logger): the record's message is formatted and masked, and `extra=`
    values under secret-looking keys (password, token, …) become [MASKED]. `patterns` adds
    regular expressions whose matches are masked too."""

    def __init__(self, patterns: Optional[Iterable[str]] = None):
        super().__init__()
        self.patterns = [re.compile(p) for p in (patterns or [])]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message, self.patterns)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        for key, value in list(vars(record).items()):
            if key.startswith("_") or key in ("msg", "args", "name", "levelname", "pathname", "filename", "module",
                                              "funcName", "exc_text", "stack_info", "threadName", "processName", "taskName"):
                continue
            if _SECRET_KEY.search(key) and value is not None and not key.endswith(("_id", "_count")):
                setattr(record, key, MASK)
            elif isinstance(value, str) and key not in ("trace_id", "span_id"):
                setattr(record, key, mask_text(value, self.patterns))
        return True

"""Writes log files the way three real Python services do (stdlib logging with tracebacks,
structlog JSON, python-json-logger), plus a file of bad input, and prints a manifest of what
each file holds, in file order. Used by the agent's end-to-end tests."""
import json
import logging
import os
import random
import sys

import structlog
from pythonjsonlogger.json import JsonFormatter

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
rng = random.Random(7)
manifest = {"payment": [], "orders": [], "inventory": [], "legacy": []}
SECRETS = ["hunter2-very-secret", "4111 1111 1111 1111", "AKIAIOSFODNN7EXAMPLE", "eyJsecretbearertoken123"]


def trace():
    return "%032x" % rng.getrandbits(128), "%016x" % rng.getrandbits(64)


def fail(depth):
    if depth == 0:
        return {}["missing"]
    return fail(depth - 1)


def chained():
    try:
        fail(1)
    except KeyError as error:
        raise ValueError("charge rejected") from error


# payment: stdlib logging text; DEBUG is not enabled for it, so DEBUG lines must not arrive.
handler = logging.FileHandler(os.path.join(out, "payment.log"))
handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
payment = logging.getLogger("payment.api")
payment.addHandler(handler)
payment.setLevel(logging.DEBUG)
payment.propagate = False
for n in range(count):
    trace_id, span_id = trace()
    status = rng.choice([200, 200, 201, 404, 500])
    duration = rng.randint(1, 3000)
    if n % 50 == 7:
        try:
            chained()
        except ValueError:
            payment.exception("charge %d failed trace_id=%s span_id=%s", n, trace_id, span_id)
        manifest["payment"].append({"message": "charge %d failed trace_id=%s span_id=%s" % (n, trace_id, span_id),
                                    "level": "ERROR", "logger": "payment.api", "trace": trace_id, "span": span_id,
                                    "error_type": "ValueError"})
    elif n % 40 == 3:
        payment.debug("debug detail %d", n)
    elif n % 60 == 11:
        payment.info("login user=bob password=%s card %s", SECRETS[0], SECRETS[1])
        manifest["payment"].append({"message": "login user=bob password=[MASKED] card [MASKED]", "level": "INFO",
                                    "logger": "payment.api"})
    else:
        payment.info("POST /api/charge status=%d duration_ms=%d trace_id=%s span_id=%s", status, duration, trace_id, span_id)
        manifest["payment"].append({"message": "POST /api/charge status=%d duration_ms=%d trace_id=%s span_id=%s" % (status, duration, trace_id, span_id),
                                    "level": "INFO", "logger": "payment.api", "trace": trace_id, "span": span_id,
                                    "status": status, "duration_ns": duration * 1_000_000})
handler.close()

# orders: structlog JSON; DEBUG is enabled for this service.
orders_file = open(os.path.join(out, "orders.log"), "w")
structlog.configure(
    processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
    wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    logger_factory=structlog.WriteLoggerFactory(file=orders_file))
orders = structlog.get_logger().bind(logger="orders.checkout")
for n in range(count):
    trace_id, span_id = trace()
    if n % 50 == 9:
        try:
            fail(2)
        except KeyError:
            orders.exception("checkout %d crashed" % n, trace_id=trace_id, span_id=span_id)
        manifest["orders"].append({"message": "checkout %d crashed" % n, "level": "ERROR", "logger": "orders.checkout",
                                   "trace": trace_id, "span": span_id, "error_type": "KeyError"})
    elif n % 40 == 5:
        orders.debug("cart state %d" % n, items=n % 7)
        manifest["orders"].append({"message": "cart state %d" % n, "level": "DEBUG", "logger": "orders.checkout"})
    else:
        status = rng.choice([200, 201, 502])
        orders.info("order %d placed" % n, trace_id=trace_id, span_id=span_id, status=status, duration_ms=n % 900,
                    api_token=SECRETS[3])
        manifest["orders"].append({"message": "order %d placed" % n, "level": "INFO", "logger": "orders.checkout",
                                   "trace": trace_id, "span": span_id, "status": status, "duration_ns": (n % 900) * 1_000_000})
orders_file.close()

# inventory: python-json-logger.
handler = logging.FileHandler(os.path.join(out, "inventory.log"))
handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
inventory = logging.getLogger("inventory.stock")
inventory.addHandler(handler)
inventory.setLevel(logging.INFO)
inventory.propagate = False
for n in range(count):
    trace_id, span_id = trace()
    if n % 50 == 13:
        try:
            1 / 0
        except ZeroDivisionError:
            inventory.exception("recount %d failed" % n, extra={"trace_id": trace_id, "span_id": span_id})
        manifest["inventory"].append({"message": "recount %d failed" % n, "level": "ERROR", "logger": "inventory.stock",
                                      "trace": trace_id, "span": span_id, "error_type": "ZeroDivisionError"})
    else:
        inventory.warning("stock low %d" % n, extra={"trace_id": trace_id, "span_id": span_id, "sku": "A%d" % n,
                                                      "aws_key": SECRETS[2]})
        manifest["inventory"].append({"message": "stock low %d" % n, "level": "WARN", "logger": "inventory.stock",
                                      "trace": trace_id, "span": span_id})
handler.close()

# legacy: plain text with bad input: invalid UTF-8, an over-long line, binary garbage, empty lines.
with open(os.path.join(out, "legacy.log"), "wb") as f:
    f.write(b"legacy start\n")
    f.write(b"caf\xe9 au lait \xff\xfe\n")
    f.write(b"\n\n")
    f.write(b"x" * 100_000 + b"\n")
    f.write(bytes(range(1, 32)).replace(b"\n", b"") + b"\x00\x00garbage\n")
    f.write(b"legacy end\n")
manifest["legacy"] = [{"message": "legacy start"}, {"prefix": "caf"}, {"prefix": "xxxx"}, {"contains": "garbage"},
                      {"message": "legacy end"}]
json.dump({"manifest": manifest, "secrets": SECRETS}, sys.stdout)

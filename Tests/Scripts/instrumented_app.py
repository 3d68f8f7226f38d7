"""A Flask or FastAPI app instrumented with logship_logging, for the client end-to-end test.

usage: instrumented_app.py flask|fastapi PORT LOG_FILE
GET /checkout logs three events (one with a password argument); GET /fail logs an exception
with its traceback. Both run under the request's traceparent (or a new trace)."""
import logging
import sys

import logship_logging

kind, port, log_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
logship_logging.setup(service="shop-" + kind, filename=log_file)
log = logging.getLogger("shop." + kind)


def checkout():
    log.info("checkout started", extra={"cart_items": 3})
    log.info("login user=%s password=%s", "bob", "hunter2")
    log.warning("payment slow", extra={"duration_ms": 1250})
    return "ok"


def fail():
    try:
        raise ValueError("card declined")
    except ValueError:
        log.exception("charge failed")
    return "failed"


if kind == "flask":
    from flask import Flask
    from werkzeug.serving import make_server

    app = Flask(__name__)
    app.route("/checkout")(checkout)
    app.route("/fail")(lambda: (fail(), 500))
    app.wsgi_app = logship_logging.WSGIMiddleware(app.wsgi_app)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()
else:
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()
    app.add_middleware(logship_logging.ASGIMiddleware)

    @app.get("/checkout", response_class=PlainTextResponse)
    def fastapi_checkout():
        return checkout()

    @app.get("/fail", response_class=PlainTextResponse, status_code=500)
    async def fastapi_fail():
        return fail()

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

"""A fault-injecting proxy in front of Elasticsearch, for a fault no real server here produces
on cue: it answers 429 (es_rejected_execution_exception) for every 4th item of a _bulk request
the first time that item's _id is seen, forwarding the rest. Everything else passes through.
Usage: bulk_429_proxy.py LISTEN_PORT UPSTREAM_URL  (prints "ready" when listening)."""
import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
every_fourth = "--passthrough" not in sys.argv[3:]
seen = set()
rejected = {"count": 0}
storm = {"on": False}
gate = threading.Event()
gate.set()
waiting = {"count": 0}
lock = threading.Lock()


def rejection(meta, doc_id):
    rejected["count"] += 1
    return {"create": {"_index": meta["_index"], "_id": doc_id, "status": 429,
                       "error": {"type": "es_rejected_execution_exception",
                                 "reason": "rejected execution (injected by the test proxy)"}}}


def forward(method, path, body, headers):
    request = urllib.request.Request(upstream + path, data=body if body else None, method=method)
    for key in ("Content-Type", "Authorization"):
        if headers.get(key):
            request.add_header(key, headers[key])
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle_one(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if method == "POST" and self.path.startswith("/__"):
            status, payload = self.control()
        elif method == "POST" and self.path.startswith("/_bulk"):
            with lock:
                waiting["count"] += 1
            gate.wait()
            with lock:
                waiting["count"] -= 1
            status, payload = self.bulk(body)
        else:
            status, payload = forward(method, self.path, body, self.headers)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def bulk(self, body):
        lines = body.decode().split("\n")
        pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2) if lines[i]]
        keep, slots = [], []
        with lock:
            for index, (action, source) in enumerate(pairs):
                meta = json.loads(action)["create"]
                doc_id = meta.get("_id")
                if storm["on"] or (every_fourth and index % 4 == 3 and doc_id not in seen):
                    seen.add(doc_id)
                    slots.append(rejection(meta, doc_id))
                else:
                    seen.add(doc_id)
                    keep.append(action + "\n" + source + "\n")
                    slots.append(None)
        items = []
        if keep:
            status, payload = forward("POST", self.path, "".join(keep).encode(), self.headers)
            if status != 200:
                return status, payload
            items = json.loads(payload)["items"]
        merged, it = [], iter(items)
        for slot in slots:
            merged.append(slot if slot is not None else next(it))
        return 200, json.dumps({"took": 1, "errors": True, "items": merged}).encode()

    def control(self):
        if self.path == "/__storm/on":
            storm["on"] = True
        elif self.path == "/__storm/off":
            storm["on"] = False
        elif self.path == "/__gate/close":
            gate.clear()
        elif self.path == "/__gate/open":
            gate.set()
        else:
            return 404, b'{"error": "unknown control path"}'
        return 200, b'{"ok": true}'

    def do_GET(self):
        if self.path in ("/__rejected", "/__gate"):
            with lock:
                state = rejected if self.path == "/__rejected" else {"waiting": waiting["count"], "closed": not gate.is_set()}
                payload = json.dumps(state).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")

    def do_PUT(self):
        self.handle_one("PUT")

    def do_DELETE(self):
        self.handle_one("DELETE")

    def do_HEAD(self):
        status, _ = forward("HEAD", self.path, b"", self.headers)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()

"""A local receiver for the notifier test: answers as a generic webhook, a WeCom group robot,
a DingTalk robot (verifying the HMAC-SHA256 signature independently with the standard library)
and a Slack incoming webhook, and appends every request it gets to a JSONL file.

usage: webhook_receiver.py PORT_FILE LOG_FILE DINGTALK_SECRET WEBHOOK_FAILURES
The first WEBHOOK_FAILURES requests to /webhook get 503 (to exercise retries)."""
import base64, hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port_file, log_file, secret, failures = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lock = threading.Lock()
state = {"webhook_failures_left": failures}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        record = {"path": url.path, "query": query, "key": self.headers.get("Idempotency-Key"),
                  "bytes": len(body), "time": time.time()}
        try:
            record["body"] = json.loads(body)
        except ValueError:
            record["body"] = None
        status, answer = 200, {"errcode": 0, "errmsg": "ok"}
        if url.path == "/webhook":
            with lock:
                if state["webhook_failures_left"] > 0:
                    state["webhook_failures_left"] -= 1
                    status, answer = 503, {"error": "try later"}
        elif url.path == "/dingtalk":
            timestamp = query.get("timestamp", "")
            expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            record["sign_ok"] = hmac.compare_digest(expected, query.get("sign", "")) and \
                abs(time.time() * 1000 - int(timestamp or 0)) < 3600 * 1000
            if not record["sign_ok"]:
                answer = {"errcode": 310000, "errmsg": "sign not match"}
        elif url.path == "/slack":
            answer = None
        record["status"] = status
        with lock, open(log_file, "a") as f:
            f.write(json.dumps(record) + "\n")
        payload = b"ok" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.replace(port_file + ".tmp", port_file)
server.serve_forever()

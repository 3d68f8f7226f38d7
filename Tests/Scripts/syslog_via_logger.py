"""Has util-linux `logger` send syslog messages (RFC 3164 and RFC 5424, with and without
structured data) to a Unix socket this script listens on, and writes each datagram as one
line of OUT, as a syslog daemon's file would hold it.
Usage: syslog_via_logger.py OUT.log  -> prints a JSON list of {"message", "tag", "pid", "priority", "rfc"}."""
import json
import os
import socket
import subprocess
import sys
import tempfile

out = sys.argv[1]
path = os.path.join(tempfile.mkdtemp(prefix="logship-syslog-"), "log.sock")
server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind(path)
server.settimeout(10)
sent = [
    ("--rfc3164", "billing", 4242, "local0.err", 131, "charge failed code=7"),
    ("--rfc3164", "sshd", 811, "auth.info", 38, "Accepted publickey for deploy from 127.0.0.1 port 50022 ssh2"),
    ("--rfc5424", "payment", 99, "local3.warning", 156, "retrying charge status=503 duration_ms=1200"),
    ("--rfc5424=notq", "cron", 7, "cron.debug", 79, "job started"),
    ("--rfc5424", "smartd", 1, "user.crit", 10, "disk failure on sda"),
]
lines = []
manifest = []
for rfc, tag, pid, priority, code, message in sent:
    subprocess.run(["logger", "-u", path, "-t", tag, f"--id={pid}", "-p", priority, rfc, message], check=True)
    lines.append(server.recv(65536).decode())
    manifest.append({"message": message, "tag": tag, "pid": pid, "priority": code, "rfc": rfc})
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
os.unlink(path)
print(json.dumps(manifest))

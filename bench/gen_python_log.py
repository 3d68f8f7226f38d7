"""Writes N lines of Python `logging` text (~200 bytes each) to a file, fast."""
import random
import sys

path, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
levels = ["INFO"] * 8 + ["WARNING", "ERROR"]
paths = ["/api/orders", "/api/charge", "/api/stock", "/health"]
with open(path, "w") as f:
    for n in range(count):
        f.write("2026-11-25 10:%02d:%02d,%03d %s [payment.api] %s %s status=%d duration_ms=%d trace_id=%032x user=u%06d request handled ok\n" % (
            (n // 60000) % 60, (n // 1000) % 60, n % 1000, rng.choice(levels), rng.choice(["GET", "POST"]), rng.choice(paths),
            rng.choice([200, 200, 201, 404, 500]), rng.randint(1, 2000), rng.getrandbits(128), n))

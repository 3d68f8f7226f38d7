"""Writes numbered log lines to DIR/app.log at a steady pace and rotates the file every
--rotate-every lines, alternating rename and copytruncate (as logrotate does). Rotated files
are kept as app.log.<k>. Prints the number of lines written when done."""
import argparse
import os
import shutil
import time
from datetime import datetime, timezone

parser = argparse.ArgumentParser()
parser.add_argument("dir")
parser.add_argument("--lines", type=int, default=20000)
parser.add_argument("--first", type=int, default=0, help="number of the first line")
parser.add_argument("--rotate-every", type=int, default=3000)
parser.add_argument("--per-second", type=int, default=4000)
args = parser.parse_args()

path = os.path.join(args.dir, "app.log")
f = open(path, "a")
generation = 0
start = time.monotonic()
for n in range(args.lines):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    f.write("%s INFO [rotation] line %d of the rotation test %s\n" % (now, args.first + n, "p" * (n % 50)))
    if n % 100 == 99:
        f.flush()
        expected = start + (n + 1) / args.per_second
        delay = expected - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    if n % args.rotate_every == args.rotate_every - 1 and n + 1 < args.lines:
        f.flush()
        generation += 1
        rotated = "%s.%d" % (path, generation)
        if generation % 2 == 1:
            f.close()
            os.rename(path, rotated)
            f = open(path, "a")
        else:
            shutil.copyfile(path, rotated)
            f.truncate(0)
            f.seek(0)
f.close()
print(args.lines)

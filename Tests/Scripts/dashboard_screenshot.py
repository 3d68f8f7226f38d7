"""Renders a page in headless Chromium twice: once to read the DOM its scripts built, once as
a PNG screenshot; reports what the test checks.

usage: dashboard_screenshot.py URL OUT.png
prints {"dom": "...", "chart_pixels": N, "width": W, "height": H}: chart_pixels counts the
pixels drawn in the series colours of the charts."""
import json
import shutil
import subprocess
import sys

from PIL import Image

url, out = sys.argv[1], sys.argv[2]
chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
if not chromium:
    sys.exit("headless Chromium is not installed (cluster/bootstrap --test installs it)")
common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
          "--virtual-time-budget=10000", "--window-size=1280,1400", "--user-data-dir=" + out + ".profile"]
dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
subprocess.run(common + ["--screenshot=" + out, url], capture_output=True, timeout=120, check=True)
image = Image.open(out).convert("RGB")
series = {(0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E), (0x2C, 0xA0, 0x2C), (0xD6, 0x27, 0x28), (0x94, 0x67, 0xBD)}
near = lambda p: any(sum(abs(a - b) for a, b in zip(p, c)) < 40 for c in series)
pixels = sum(1 for p in image.getdata() if near(p))
json.dump({"dom": dom, "chart_pixels": pixels, "width": image.width, "height": image.height}, sys.stdout)

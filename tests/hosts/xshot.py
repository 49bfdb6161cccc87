"""Screenshot of an X display's root window (run with the chroot's python3 under Xvfb).

Usage: DISPLAY=:N python3 xshot.py OUT.png WAIT_FILE [SECONDS]: waits for WAIT_FILE to exist,
then SECONDS more (the dialog drawing), then saves the root window cropped to what is not
background. Needs Gdk 3 introspection (present with GIMP).
"""

import os
import sys
import time

import gi

gi.require_version("Gdk", "3.0")
from gi.repository import Gdk  # noqa: E402


def main():
    out, wait_file = sys.argv[1], sys.argv[2]
    settle = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    deadline = time.time() + 120
    while not os.path.exists(wait_file) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(settle)
    root = Gdk.get_default_root_window()
    shot = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
    data, stride, n = shot.get_pixels(), shot.get_rowstride(), shot.get_n_channels()
    last = (shot.get_height() - 1) * stride + (shot.get_width() - 1) * n
    background = data[last : last + n]  # the bare root window, bottom right
    xs, ys = [], []
    for y in range(0, shot.get_height(), 2):
        row = data[y * stride : y * stride + shot.get_width() * n]
        for x in range(0, shot.get_width(), 2):
            if row[x * n : x * n + n] != background:
                xs.append(x)
                ys.append(y)
    if xs:
        x0, y0 = min(xs), min(ys)
        shot = shot.new_subpixbuf(x0, y0, max(xs) - x0 + 2, max(ys) - y0 + 2)
    shot.savev(out, "png", [], [])
    print(f"saved {out} ({shot.get_width()}x{shot.get_height()})", flush=True)


main()

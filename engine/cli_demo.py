"""`pocketsr demo`: upscale a sample photo, with a plain bicubic copy beside it to compare."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .cli_common import EXIT_CANCELLED, EXIT_OK, EXIT_SETUP, say
from .cli_progress import ProgressBar
from .cli_signals import Interrupts, is_cancel
from .cli_upscale import load_upscaler


def cmd_demo(args: argparse.Namespace) -> int:
    """`pocketsr demo`: upscale scikit-image's bundled CC0 photo of a cat into ./demo-output/."""
    try:
        from skimage import data as samples
    except ImportError:
        say(
            "the demo's sample photo comes from scikit-image, which is not installed; "
            "run `pip install scikit-image` (or ./run.sh demo) and try again."
        )
        return EXIT_SETUP
    upscaler = load_upscaler(args.model, args.device, None)
    if upscaler is None:
        say("the demo needs the embedded default model (engine/weights/); see `pocketsr models`.")
        return EXIT_SETUP
    import numpy as np
    from PIL import Image

    from . import imageio
    from .types import CancelToken

    photo = samples.chelsea()  # 451x300 RGB, public domain (CC0), ships inside scikit-image
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    token = CancelToken()
    bar = ProgressBar("chelsea.png", enabled=not args.quiet)
    started = time.monotonic()
    with Interrupts(token):
        try:
            result = upscaler.upscale(photo, progress=bar, cancel=token)
        except BaseException as exc:
            bar.close()
            if is_cancel(exc, token):
                say("demo cancelled; nothing was written.")
                return EXIT_CANCELLED
            raise
    bar.close()
    seconds = time.monotonic() - started
    height, width = result.shape[:2]
    plain = Image.fromarray(photo).resize((width, height), Image.Resampling.BICUBIC)
    files = {
        "before": out_dir / "chelsea.png",
        "bicubic": out_dir / f"chelsea_bicubic_x{upscaler.info.scale}.png",
        "after": out_dir / f"chelsea_x{upscaler.info.scale}.png",
    }
    imageio.write_image(files["before"], photo, overwrite=True)
    imageio.write_image(files["bicubic"], np.asarray(plain), overwrite=True)
    imageio.write_image(files["after"], result, overwrite=True)
    print(
        f"Upscaled a {photo.shape[1]}x{photo.shape[0]} photo to {width}x{height} "
        f"with {upscaler.info.name} in {seconds:.1f} s."
    )
    print(f"  before:             {files['before']}")
    print(f"  plain bicubic:      {files['bicubic']}")
    print(f"  after (PocketSR):   {files['after']}")
    return EXIT_OK

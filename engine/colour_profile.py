"""ICC colour profiles: kept when valid and describing the pixels, applied for CMYK and Lab."""

from __future__ import annotations

import io
import warnings

from PIL import Image


def valid_icc(icc: bytes | None, source: str) -> bytes | None:
    """The profile if it looks like an ICC profile (size field, 'acsp' signature), else None
    with a warning: junk is never copied into an output as its colour profile."""
    if not icc:
        return None
    if len(icc) >= 128 and icc[36:40] == b"acsp" and int.from_bytes(icc[:4], "big") == len(icc):
        return icc
    warnings.warn(f"{source}: its colour profile is not a valid ICC profile; it was dropped.",
                  stacklevel=3)  # fmt: skip
    return None


def to_srgb(im: Image.Image, icc: bytes, source: str) -> tuple[Image.Image, bytes | None]:
    """A CMYK (or Lab) image converted to sRGB through its own profile, labelled sRGB."""
    from PIL import ImageCms

    try:
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        own = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(im, own, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        warnings.warn(f"{source}: its {im.mode} profile could not be applied; the colours are "
                      "converted without it and the profile is dropped.", stacklevel=4)  # fmt: skip
        return im, None
    return converted, srgb.tobytes()


def matching_profile(icc: bytes | None, mode: str, source: str) -> bytes | None:
    """The profile if its colour space can describe the pixels (RGB or grey; a grey image
    keeps the RGB profile it came with, as other tools do), else None with a warning."""
    if icc is None:
        return None
    space = icc[16:20]
    if space == b"RGB " or (space == b"GRAY" and mode in ("L", "LA")):
        return icc
    warnings.warn(f"{source}: its {space.decode('latin-1').strip()} colour profile does not "
                  "describe the output's pixels; it was dropped.", stacklevel=4)  # fmt: skip
    return None

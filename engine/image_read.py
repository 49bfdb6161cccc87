"""Reading image files: upright, full bit depth, alpha kept, palettes expanded, sizes checked."""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from . import pngcodec
from .colour_profile import matching_profile, to_srgb, valid_icc
from .errors import ImageFileError, InvalidImageError
from .exif import exif_from_tiff_tags, exif_upright, orient
from .image_formats import EXTENSIONS, MAX_INPUT_PIXELS, ImageMeta, LoadedImage

_BULKY_CHUNKS = (b"iCCP", b"zTXt", b"iTXt")
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def read_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_INPUT_PIXELS) -> LoadedImage:
    """Read an image file: upright, full bit depth, alpha kept, palettes expanded to RGB(A)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        raise ImageFileError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise ImageFileError(f"{path} is a folder, not an image file.") from None
    except OSError as exc:
        raise ImageFileError(f"{path} cannot be opened: {exc.strerror or exc}.") from None
    try:
        if head.startswith(pngcodec.SIGNATURE):
            loaded = _read_png(path, max_pixels)
        elif head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
            loaded = _read_tiff(path, max_pixels)
        else:
            loaded = _read_pillow(path, max_pixels)
    except (InvalidImageError, ImageFileError):
        raise
    except pngcodec.PngError as exc:
        raise ImageFileError(f"{path.name} is not a readable PNG: {exc}.") from None
    except MemoryError:
        raise InvalidImageError(f"{path.name} is too large to load into memory.") from None
    except Exception as exc:
        raise ImageFileError(f"{path.name} is not a readable image: {_reason(exc)}.") from None
    return replace(loaded, path=str(path))


def _reason(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return "the file is truncated (it ends before the image data does)"
    if isinstance(exc, Image.UnidentifiedImageError):
        return "its contents are not PNG, JPEG, TIFF or WebP"
    if not text or text.lstrip("-").isdigit():
        # Some decoders raise a bare number (an offset or an index) for a damaged structure.
        return "its internal structure is damaged"
    return text


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise InvalidImageError(f"{path.name} has an empty size ({width}x{height}).")
    if width * height > max_pixels:
        raise InvalidImageError(
            f"{path.name} claims to be {width}x{height} pixels "
            f"({width * height / 1e6:.0f} megapixels), more than the "
            f"{max_pixels / 1e6:.0f}-megapixel limit; it was not decoded "
            "(it may be a decompression bomb)."
        )


def _read_png(path: Path, max_pixels: int) -> LoadedImage:
    data = path.read_bytes()
    head = pngcodec.read_header(data)
    _check_size(path, head.width, head.height, max_pixels)
    if head.bit_depth != 16:
        try:
            return _read_pillow(path, max_pixels)
        except ValueError as exc:
            if "too large" not in str(exc):
                raise
        # Pillow refuses a file whose profile or text inflates too far; drop those chunks,
        # as the 16-bit path does, and read the pixels.
        warnings.warn(
            f"{path.name}: a colour profile or text chunk inflates to more than Pillow "
            "allows; it was dropped.",
            stacklevel=3,
        )
        return _read_pillow(path, max_pixels, pngcodec.without_chunks(data, _BULKY_CHUNKS))
    png = pngcodec.decode(data)
    exif, orientation = exif_upright(png.exif)
    pixels = orient(png.pixels, orientation)
    mode = _MODES[1 if pixels.ndim == 2 else pixels.shape[2]]
    return LoadedImage(pixels, ImageMeta("PNG", 16, mode, valid_icc(png.icc, path.name), exif))


def _read_pillow(path: Path, max_pixels: int, data: bytes | None = None) -> LoadedImage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(path if data is None else io.BytesIO(data))
        except Image.DecompressionBombError:
            raise InvalidImageError(
                f"{path.name} claims more pixels than can be decoded safely "
                "(it may be a decompression bomb); it was not decoded."
            ) from None
        with im:
            _check_size(path, im.width, im.height, max_pixels)
            fmt = im.format or "PNG"
            if fmt not in EXTENSIONS:
                raise ImageFileError(
                    f"{path.name} is a {fmt} file; PocketSR reads PNG, JPEG, TIFF and WebP."
                )
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                warnings.warn(f"{path.name} has {frames} frames; only the first is upscaled.",
                              stacklevel=3)  # fmt: skip
            im.load()
            icc = valid_icc(im.info.get("icc_profile"), path.name)
            raw_exif = im.info.get("exif")
            if im.mode in ("CMYK", "LAB") and icc:
                im, icc = to_srgb(im, icc, path.name)
            pixels, mode, depth = _pillow_pixels(im)
            icc = matching_profile(icc, mode, path.name)
    exif, orientation = exif_upright(raw_exif)
    return LoadedImage(orient(pixels, orientation), ImageMeta(fmt, depth, mode, icc, exif))


def _pillow_pixels(im: Image.Image) -> tuple[np.ndarray, str, int]:
    mode = im.mode
    if mode == "P":
        mode = "RGBA" if "transparency" in im.info else "RGB"
        im = im.convert(mode)
    elif mode == "PA":
        mode, im = "RGBA", im.convert("RGBA")
    elif mode == "1":
        mode, im = "L", im.convert("L")
    elif mode == "L" and "transparency" in im.info:
        mode, im = "LA", im.convert("LA")
    elif mode == "RGB" and "transparency" in im.info:
        mode, im = "RGBA", im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        mode, im = "RGB", im.convert("RGB")
    elif mode.startswith("I;16"):
        return np.asarray(im, dtype=np.uint16), "L", 16
    elif mode == "I":
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16), "L", 16
    elif mode == "F":
        return np.asarray(im, dtype=np.float32), "L", 32
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        mode, im = "RGBA", im.convert("RGBA")
    return np.asarray(im, dtype=np.uint8), mode, 8


def _read_tiff(path: Path, max_pixels: int) -> LoadedImage:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        if len(tif.pages) > 1:
            warnings.warn(f"{path.name} has {len(tif.pages)} pages; only the first is upscaled.",
                          stacklevel=3)  # fmt: skip
        width, height = int(page.imagewidth), int(page.imagelength)
        _check_size(path, width, height, max_pixels)
        pixels = page.asarray()
        axes = page.axes
        tags = page.tags
        photometric = int(page.photometric)
        icc = valid_icc(tags[34675].value if 34675 in tags else None, path.name)
        orientation = int(tags[274].value) if 274 in tags else 1
        exif = exif_from_tiff_tags(tags)
    if "S" in axes:
        pixels = np.moveaxis(pixels, axes.index("S"), -1)
    pixels = pixels.reshape(height, width, -1) if pixels.ndim != 2 else pixels
    if photometric == 3:  # palette: the colormap is 16-bit RGB
        with tifffile.TiffFile(path) as tif:
            cmap = tif.pages.first.colormap
        pixels = np.moveaxis(cmap[:, pixels.reshape(height, width)], 0, -1)
    elif photometric == 0:  # min-is-white
        pixels = _invert(pixels)
    elif photometric not in (1, 2):
        raise ImageFileError(
            f"{path.name} uses TIFF colour model {photometric}; PocketSR reads grey and RGB TIFFs."
        )
    if pixels.dtype == np.float64:
        pixels = pixels.astype(np.float32)
    if pixels.dtype not in (np.uint8, np.uint16, np.float16, np.float32):
        raise ImageFileError(
            f"{path.name} stores {pixels.dtype} samples; PocketSR reads "
            "8/16-bit integer and 16/32-bit float TIFFs."
        )
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels > 4:
        pixels, channels = pixels[..., :4], 4
    depth = 8 * pixels.dtype.itemsize
    meta = ImageMeta("TIFF", depth, _MODES[channels], icc, exif)
    return LoadedImage(np.ascontiguousarray(orient(pixels, orientation)), meta)


def _invert(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype.kind == "f":
        return 1.0 - pixels
    return np.iinfo(pixels.dtype).max - pixels

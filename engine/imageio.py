"""Image files in and out: bit depth, alpha, ICC profile and EXIF kept; every write is atomic."""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import mmap
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import tifffile
from PIL import Image

from . import pngcodec
from .errors import Cancelled, ImageFileError, InvalidImageError
from .types import CancelToken

# An input larger than this is refused before decoding (decompression-bomb guard).
MAX_INPUT_PIXELS = 150_000_000

FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp"}
_ORIENTATION = 0x0112
_TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)  # description, make, model, ...


@dataclass(frozen=True)
class ImageMeta:
    """What a file carries besides pixels: format, bit depth, colour layout, ICC and EXIF."""

    format: str = "PNG"
    bit_depth: int = 8
    mode: str = "RGB"
    icc: bytes | None = None
    # EXIF in Pillow's form (b"Exif\0\0" + TIFF structure), orientation already reset to 1.
    exif: bytes | None = None


@dataclass(frozen=True)
class LoadedImage:
    """An image read from a file: pixels upright (orientation applied) plus its metadata."""

    pixels: np.ndarray
    meta: ImageMeta
    path: str = ""

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def channels(self) -> int:
        """Samples per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)."""
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])


def format_for(path: str | os.PathLike[str]) -> str:
    """The file format an output path's extension asks for."""
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ImageFileError(
            f"{Path(path).name}: the extension {suffix or '(none)'} is not an image format "
            f"PocketSR writes; use one of {known}."
        ) from None


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the extension names a format PocketSR reads."""
    return Path(path).suffix.lower() in FORMATS


# ---------------------------------------------------------------- reading


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
    exif, orientation = _exif_upright(png.exif)
    pixels = orient(png.pixels, orientation)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[1 if pixels.ndim == 2 else pixels.shape[2]]
    return LoadedImage(pixels, ImageMeta("PNG", 16, mode, valid_icc(png.icc, path.name), exif))


_BULKY_CHUNKS = (b"iCCP", b"zTXt", b"iTXt")


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
                im, icc = _to_srgb(im, icc, path.name)
            pixels, mode, depth = _pillow_pixels(im)
            icc = _matching_profile(icc, mode, path.name)
    exif, orientation = _exif_upright(raw_exif)
    return LoadedImage(orient(pixels, orientation), ImageMeta(fmt, depth, mode, icc, exif))


def _to_srgb(im: Image.Image, icc: bytes, source: str) -> tuple[Image.Image, bytes | None]:
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


def _matching_profile(icc: bytes | None, mode: str, source: str) -> bytes | None:
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
        exif = Image.Exif()
        for code in _TIFF_TEXT_TAGS:
            if code in tags and isinstance(tags[code].value, str):
                exif[code] = tags[code].value
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
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    depth = 8 * pixels.dtype.itemsize
    exif_bytes = exif.tobytes() if len(exif) else None
    meta = ImageMeta("TIFF", depth, mode, icc, exif_bytes)
    return LoadedImage(np.ascontiguousarray(orient(pixels, orientation)), meta)


def _invert(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype.kind == "f":
        return 1.0 - pixels
    return np.iinfo(pixels.dtype).max - pixels


def _exif_upright(raw: bytes | None) -> tuple[bytes | None, int]:
    """EXIF bytes with orientation reset to 1, and the orientation that was there."""
    if not raw:
        return None, 1
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:
        return None, 1  # unparseable EXIF is dropped rather than failing the read
    orientation = exif.get(_ORIENTATION, 1)
    if orientation != 1:
        exif[_ORIENTATION] = 1
    try:
        return exif.tobytes(), int(orientation) if orientation in range(1, 9) else 1
    except Exception:
        return None, 1


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) so the pixels are upright."""
    ops: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return pixels if op is None else np.ascontiguousarray(op(pixels))


# ---------------------------------------------------------------- layouts and dtypes


def to_engine_layout(pixels: np.ndarray) -> np.ndarray:
    """Grey+alpha (H×W×2) becomes RGBA for the engine; other layouts pass through."""
    if pixels.ndim == 3 and pixels.shape[2] == 2:
        return np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
    return pixels


def to_file_layout(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Bring an engine result back to the source's layout (RGBA back to grey+alpha for LA)."""
    if mode == "LA" and pixels.ndim == 3 and pixels.shape[2] == 4:
        grey = pixels[..., :3].astype(np.float32).mean(axis=2, keepdims=True)
        return np.concatenate([grey.astype(pixels.dtype), pixels[..., 3:]], axis=2)
    return pixels


def convert_depth(pixels: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """Convert samples between uint8, uint16 and float (0..1), rounding, never wrapping."""
    dtype = np.dtype(dtype)
    if pixels.dtype == dtype:
        return pixels
    if pixels.dtype.kind == "f":
        unit = np.nan_to_num(pixels.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        unit = np.clip(unit, 0.0, 1.0)
    else:
        unit = pixels.astype(np.float32) / np.iinfo(pixels.dtype).max
    if dtype.kind == "f":
        return unit.astype(dtype)
    return np.rint(unit * np.iinfo(dtype).max).astype(dtype)


def _file_dtype(fmt: str, dtype: np.dtype) -> np.dtype:
    if fmt in ("JPEG", "WEBP"):
        return np.dtype(np.uint8)
    if fmt == "PNG":
        return np.dtype(np.uint8) if dtype == np.uint8 else np.dtype(np.uint16)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


# ---------------------------------------------------------------- writing


# tifffile reports through the logging module; with no handler configured its lines would
# reach stderr beside our own sentences. Its problems surface as exceptions we word ourselves.
logging.getLogger("tifffile").addHandler(logging.NullHandler())
logging.getLogger("tifffile").propagate = False

# Working files (the temporary output, a streamed write's raw pixels) are named
# .pocketsr-PID-RANDOM.part / .raw: short, so any legal output name works, and recognisable, so
# a later run can remove those that a killed run left behind (and never a file of anyone else).
WORK_PREFIX = ".pocketsr-"
_WORK_NAME = re.compile(r"^\.pocketsr-(\d+)-[A-Za-z0-9_]+\.(part|raw)$")


def _work_file(folder: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", suffix=suffix, dir=folder)
    os.close(fd)
    return Path(name)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return True  # no cheap check: the age rule below decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale_work_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the working files an interrupted run of ours left in `folder`; return them.

    Only names of our pattern whose process is gone (or, where that cannot be checked, older
    than a day) are removed; a run in progress keeps its files.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _WORK_NAME.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if not _process_alive(int(match.group(1))) or age > 86400:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def check_output(path: str | os.PathLike[str]) -> None:
    """What can fail about writing an output, checked before any work: the name's length, its
    format, the folder (a folder, writable, taking our working file). Whether an existing file
    may be replaced is the caller's rule."""
    path = Path(path)
    folder = path.parent
    try:
        limit = os.pathconf(folder if folder.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    size = len(os.fsencode(path.name))
    if size > limit:
        raise ImageFileError(
            f"the file name {path.name[:40]}... is {size} bytes long; the folder allows {limit}."
        )
    format_for(path)
    if path.is_dir():
        raise ImageFileError(f"cannot write {path}: it is a folder; give a file name.")
    if folder.exists() and not folder.is_dir():
        raise ImageFileError(f"cannot write {path}: {folder} is a file, not a folder.")
    if folder.is_dir():
        _PendingFile(path, overwrite=True).abort()  # the folder takes our working file


class _PendingFile:
    """A temporary file beside a target path, renamed onto it by commit() or removed by abort()."""

    def __init__(self, path: Path, overwrite: bool) -> None:
        if not overwrite and path.exists():
            raise ImageFileError(f"{path} already exists; pass overwrite to replace it.")
        self.path = path
        self.overwrite = overwrite
        self.folder = path.parent
        if not self.folder.is_dir():
            raise ImageFileError(f"cannot write {path}: the folder {self.folder} does not exist.")
        try:
            self.tmp = _work_file(self.folder, ".part")
        except OSError as exc:
            raise ImageFileError(f"cannot write in {self.folder}: {exc.strerror or exc}.") from None

    def sibling(self, suffix: str) -> Path:
        """Another temporary file in the same folder (the caller removes it)."""
        return _work_file(self.folder, suffix)

    def commit(self) -> None:
        """fsync the temporary file, rename it onto the target, fsync the folder."""
        try:
            with open(self.tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(self.tmp, _new_file_mode(self.path))
            if self.overwrite:
                os.replace(self.tmp, self.path)
            else:
                _rename_no_replace(self.tmp, self.path)
        except FileExistsError:
            self.abort()
            raise ImageFileError(
                f"{self.path} appeared while the image was being written; it was left as it "
                "is and nothing was written (pass overwrite to replace it)."
            ) from None
        except BaseException:
            self.abort()
            raise
        _fsync_folder(self.folder)

    def abort(self) -> None:
        """Remove the temporary file; the target is untouched."""
        with contextlib.suppress(OSError):
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    On any exception (Cancelled, KeyboardInterrupt included) the temporary file is removed and
    `path` is untouched. Refuses an existing `path` unless overwrite=True.
    """
    pending = _PendingFile(Path(path), overwrite)
    try:
        yield pending.tmp
    except BaseException:
        pending.abort()
        raise
    pending.commit()


def _rename_no_replace(src: Path, dst: Path) -> None:
    """Move src to dst, failing with FileExistsError if dst exists at that very moment.

    A hard link refuses an existing name atomically; where links are not possible (some
    network or FAT folders) the check and the rename are two steps, a far smaller window than
    a whole upscale. Windows' rename never replaces.
    """
    if os.name == "nt":
        os.rename(src, dst)
        return
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        if dst.exists():
            raise FileExistsError(str(dst)) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def _new_file_mode(path: Path) -> int:
    # mkstemp makes 0600 files; give the output the mode a plain open() would (or the old one's).
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, so best effort.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def disk_full_error(folder: Path, needed: int) -> ImageFileError:
    """The sentence for a full disk: where, how much was needed, how much is free."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = 0
    return ImageFileError(
        f"the disk holding {folder} is full: {needed / 2**20:.0f} MB needed, "
        f"{free / 2**20:.0f} MB free. Nothing was written."
    )


@contextlib.contextmanager
def disk_full_as_sentence(folder: Path, needed: int) -> Iterator[None]:
    """Turn a full disk met inside the block into the disk_full_error sentence."""
    try:
        yield
    except OSError as exc:
        if _is_disk_full(exc, folder, needed):
            raise disk_full_error(folder, needed) from None
        raise


def reserve(path: Path, nbytes: int) -> None:
    """Give a working file its whole size on disk now, so a full disk is an error up front.

    A memory-mapped file left sparse gets its blocks when pages are written, and on a full
    disk the process dies of SIGBUS instead of hearing ENOSPC.
    """
    with disk_full_as_sentence(path.parent, nbytes), open(path, "r+b") as fh:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fh.fileno(), 0, nbytes)
        else:
            free = shutil.disk_usage(path.parent).free
            if free < nbytes - os.path.getsize(path):
                raise OSError(errno.ENOSPC, "no space left on device")
            fh.truncate(nbytes)


def write_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    meta: ImageMeta | None = None,
    *,
    overwrite: bool = False,
    quality: int = 95,
    cancel: CancelToken | None = None,
) -> Path:
    """Write pixels atomically in the format the extension names, keeping ICC and EXIF.

    The bit depth is kept where the format can hold it (PNG 8/16, TIFF 8/16/float); JPEG and
    WebP are 8-bit. `pixels` may be a memmap: PNG and TIFF are then written in row blocks.
    """
    path = Path(path)
    fmt = format_for(path)
    meta = meta or ImageMeta()
    _check_pixels(pixels, path)
    full = disk_full_as_sentence(path.parent, pixels.nbytes)
    with full, atomic_path(path, overwrite=overwrite) as tmp:
        _write_to(tmp, pixels, fmt, meta, quality=quality, cancel=cancel)
    return path


def _is_disk_full(exc: OSError, folder: Path, needed: int) -> bool:
    """ENOSPC, or a short write (some encoders raise without an errno) on a disk that really
    has less room than the image's raw size."""
    if exc.errno in _DISK_FULL:
        return True
    if exc.errno is not None:
        return False
    try:
        return shutil.disk_usage(folder).free < needed
    except OSError:
        return False


def _check_pixels(pixels: np.ndarray, path: Path) -> None:
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and not 1 <= pixels.shape[2] <= 4):
        raise InvalidImageError(f"cannot write {path.name}: pixels of shape {pixels.shape}.")
    if pixels.dtype not in (np.uint8, np.uint16, np.float16, np.float32):
        raise InvalidImageError(f"cannot write {path.name}: samples of type {pixels.dtype}.")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InvalidImageError(f"cannot write {path.name}: the image is empty.")


def _write_to(
    tmp: Path,
    pixels: np.ndarray,
    fmt: str,
    meta: ImageMeta,
    *,
    quality: int,
    cancel: CancelToken | None,
    fast: bool = False,
) -> None:
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    dtype = _file_dtype(fmt, pixels.dtype)
    release = _releaser(pixels)

    def after_block(_rows: int) -> None:
        release()
        if cancel is not None and cancel.cancelled:
            raise Cancelled("the write was cancelled; nothing was written.")

    if fmt == "PNG":
        with open(tmp, "wb") as fh:
            _write_png(fh, pixels, dtype, meta, after_block, fast)
    elif fmt == "TIFF":
        _write_tiff(tmp, pixels, dtype, meta, after_block)
    else:
        _write_pillow(tmp, convert_depth(pixels, np.uint8), fmt, meta, quality)


def _write_png(
    fh: BinaryIO,
    pixels: np.ndarray,
    dtype: np.dtype,
    meta: ImageMeta,
    after_block: Callable[[int], None],
    fast: bool,
) -> None:
    exif = meta.exif[6:] if meta.exif and meta.exif.startswith(b"Exif\0\0") else meta.exif

    class _Converted:
        """Row blocks of `pixels` converted to the file's dtype on the fly (no full copy)."""

        shape = pixels.shape
        ndim = pixels.ndim

        def __init__(self) -> None:
            self.dtype = dtype

        def __getitem__(self, rows: slice) -> np.ndarray:
            return convert_depth(np.asarray(pixels[rows]), dtype)

    source = pixels if pixels.dtype == dtype else _Converted()
    pngcodec.encode(fh, source, icc=meta.icc, exif=exif, fast=fast, after_block=after_block)  # type: ignore[arg-type]


def _write_tiff(
    tmp: Path,
    pixels: np.ndarray,
    dtype: np.dtype,
    meta: ImageMeta,
    after_block: Callable[[int], None],
) -> None:
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    photometric = "minisblack" if channels <= 2 else "rgb"
    extrasamples = ("unassalpha",) if channels in (2, 4) else None
    height = pixels.shape[0]
    rows = max(1, (8 << 20) // max(1, pixels[0].nbytes))

    def strips() -> Iterator[np.ndarray]:
        for start in range(0, height, rows):
            yield convert_depth(np.asarray(pixels[start : start + rows]), dtype)
            after_block(min(height, start + rows))

    with tifffile.TiffWriter(tmp, bigtiff=pixels.size * dtype.itemsize > 2**31) as tif:
        tif.write(
            strips(),
            shape=pixels.shape,
            dtype=dtype,
            photometric=photometric,
            extrasamples=extrasamples,
            iccprofile=meta.icc,
            rowsperstrip=rows,
            extratags=_tiff_text_tags(meta.exif),
            software="PocketSR",
        )


def _tiff_text_tags(exif_bytes: bytes | None) -> list[tuple[int, str, int, str, bool]]:
    if not exif_bytes:
        return []
    exif = Image.Exif()
    with contextlib.suppress(Exception):
        exif.load(exif_bytes)
    # 305 (Software) is written by tifffile itself.
    return [
        (code, "s", 0, exif[code], True)
        for code in _TIFF_TEXT_TAGS
        if code != 305 and isinstance(exif.get(code), str) and exif[code].isascii()
    ]


def _write_pillow(tmp: Path, pixels: np.ndarray, fmt: str, meta: ImageMeta, quality: int) -> None:
    if pixels.ndim == 3 and pixels.shape[2] == 2:
        pixels = to_engine_layout(pixels)
    if fmt == "JPEG" and pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]  # JPEG has no alpha
    im = Image.fromarray(np.ascontiguousarray(pixels))
    options: dict[str, object] = {"quality": quality}
    if meta.icc:
        options["icc_profile"] = meta.icc
    if meta.exif:
        options["exif"] = meta.exif
    if fmt == "JPEG":
        options["subsampling"] = 0 if quality >= 90 else 2
    im.save(tmp, format=fmt, **options)


def _releaser(pixels: np.ndarray) -> Callable[[], None]:
    """A function that drops a memmap's pages from this process's resident set (data stays)."""
    base = pixels
    while base is not None and not isinstance(getattr(base, "_mmap", None), mmap.mmap):
        base = getattr(base, "base", None)
    if base is None or not hasattr(mmap, "MADV_DONTNEED"):
        return lambda: None
    handle: mmap.mmap = base._mmap  # type: ignore[union-attr]

    def release() -> None:
        # Shared file mappings keep their data in the page cache; only our mapping is dropped.
        with contextlib.suppress(ValueError, OSError):
            handle.flush()
            handle.madvise(mmap.MADV_DONTNEED)

    return release


# ---------------------------------------------------------------- streamed (disk-backed) output


class StreamedOutput:
    """A disk-backed output array for results too big for memory, committed atomically.

    Use as a context manager: fill `.array` (a np.memmap, e.g. as the engine's `out=`), call
    `release()` now and then to keep the resident set small, then `commit()`. Leaving the block
    without commit (error, cancel) removes every temporary file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shape: tuple[int, ...],
        dtype: np.dtype | type,
        meta: ImageMeta | None = None,
        *,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.format = format_for(self.path)
        self.meta = meta or ImageMeta()
        dtype = np.dtype(dtype)
        self._pending = _PendingFile(self.path, overwrite)
        self._raw: Path | None = None
        self._done = False
        try:
            nbytes = int(np.prod(shape)) * dtype.itemsize
            if self.format == "TIFF" and dtype == _file_dtype("TIFF", dtype):
                # The engine writes straight into the final file's pixel data: no second pass.
                reserve(self._pending.tmp, nbytes)
                self.array: np.memmap = self._tiff_memmap(tuple(shape), dtype)
                reserve(self._pending.tmp, os.path.getsize(self._pending.tmp))
            else:
                self._raw = self._pending.sibling(".raw")
                reserve(self._raw, nbytes)
                self.array = np.memmap(self._raw, dtype=dtype, mode="r+", shape=tuple(shape))
        except BaseException:
            self.abort()
            raise
        self.release: Callable[[], None] = _releaser(self.array)
        self.array_bytes = nbytes

    def _tiff_memmap(self, shape: tuple[int, ...], dtype: np.dtype) -> np.memmap:
        channels = 1 if len(shape) == 2 else shape[2]
        return tifffile.memmap(
            self._pending.tmp,
            shape=shape,
            dtype=dtype,
            photometric="minisblack" if channels <= 2 else "rgb",
            extrasamples=("unassalpha",) if channels in (2, 4) else None,
            iccprofile=self.meta.icc,
            extratags=_tiff_text_tags(self.meta.exif),
            software="PocketSR",
            bigtiff=int(np.prod(shape)) * dtype.itemsize > 2**31,
        )

    def commit(self, cancel: CancelToken | None = None) -> Path:
        """Write the final file (unless the array already is it) and move it into place."""
        with disk_full_as_sentence(self.path.parent, self.array_bytes):
            self._commit(cancel)
        return self.path

    def _commit(self, cancel: CancelToken | None) -> None:
        try:
            self.array.flush()
            if self._raw is not None:
                _write_to(
                    self._pending.tmp,
                    self.array,
                    self.format,
                    self.meta,
                    quality=95,
                    cancel=cancel,
                    fast=True,
                )
            self._close_array()
            self._pending.commit()
        except BaseException:
            self.abort()
            raise
        self._remove_raw()
        self._done = True

    def abort(self) -> None:
        """Drop everything written so far; the target path is untouched."""
        self._close_array()
        self._remove_raw()
        self._pending.abort()
        self._done = True

    def _close_array(self) -> None:
        array = getattr(self, "array", None)
        self.array = None  # type: ignore[assignment]
        handle = getattr(array, "_mmap", None)
        del array
        if isinstance(handle, mmap.mmap):
            # Views handed out (e.g. in progress reports) may still pin the buffer.
            with contextlib.suppress(BufferError, ValueError):
                handle.close()

    def _remove_raw(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(OSError):
                self._raw.unlink()

    def __enter__(self) -> StreamedOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()

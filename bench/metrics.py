"""Full-reference SR metrics on the BT.601 Y channel: PSNR and SSIM (Wang et al.), numpy only."""

from __future__ import annotations

import math

import numpy as np

# ITU-R BT.601 luma for 0..1 RGB, giving Y in 16..235 (the convention of the SR literature).
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Return the BT.601 Y channel (float64, 0..255 scale) of a uint8 RGB or grayscale image."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixels, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected HxW, HxWx3 or HxWx4, got shape {arr.shape}")
    rgb = arr[:, :, :3].astype(np.float64) / 255.0
    return 16.0 + rgb @ _Y_WEIGHTS


def crop_border(img: np.ndarray, border: int) -> np.ndarray:
    """Return the image without `border` pixels on each side."""
    if border <= 0:
        return img
    if img.shape[0] <= 2 * border or img.shape[1] <= 2 * border:
        raise ValueError(f"image {img.shape[:2]} too small for a {border}-pixel crop")
    return img[border:-border, border:-border]


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Return the PSNR in dB of two same-shape float arrays (inf when identical)."""
    _check_pair(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / mse)


def gaussian_kernel_1d(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Return a normalised 1-D Gaussian of odd length `size`."""
    half = (size - 1) / 2.0
    x = np.arange(size, dtype=np.float64) - half
    k = np.exp(-(x**2) / (2.0 * sigma**2))
    return k / k.sum()


def _filter_valid(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 2-D correlation keeping only the 'valid' part (no padded pixels used)."""
    n = len(kernel)
    h, w = img.shape[0] - n + 1, img.shape[1] - n + 1
    rows = sum(kernel[i] * img[i : i + h, :] for i in range(n))
    return sum(kernel[j] * rows[:, j : j + w] for j in range(n))


def ssim(
    a: np.ndarray,
    b: np.ndarray,
    data_range: float = 255.0,
    win_size: int = 11,
    sigma: float = 1.5,
) -> float:
    """Return the mean SSIM of two same-shape 2-D arrays (Gaussian 11x11, sigma 1.5, valid)."""
    _check_pair(a, b)
    if a.ndim != 2:
        raise ValueError("ssim expects single-channel 2-D arrays")
    if min(a.shape) < win_size:
        raise ValueError(f"image {a.shape} smaller than the {win_size}x{win_size} window")
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    k = gaussian_kernel_1d(win_size, sigma)
    mu_x = _filter_valid(x, k)
    mu_y = _filter_valid(y, k)
    var_x = _filter_valid(x * x, k) - mu_x**2
    var_y = _filter_valid(y * y, k) - mu_y**2
    cov = _filter_valid(x * y, k) - mu_x * mu_y
    num = (2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float(np.mean(num / den))


def psnr_y(sr: np.ndarray, hr: np.ndarray, border: int = 0) -> float:
    """Return PSNR on the BT.601 Y channel of two uint8 images, after an optional border crop."""
    _check_pair(sr, hr)
    return psnr(crop_border(rgb_to_y(sr), border), crop_border(rgb_to_y(hr), border))


def ssim_y(sr: np.ndarray, hr: np.ndarray, border: int = 0) -> float:
    """Return SSIM on the BT.601 Y channel of two uint8 images, after an optional border crop."""
    _check_pair(sr, hr)
    return ssim(crop_border(rgb_to_y(sr), border), crop_border(rgb_to_y(hr), border))


def _immerkaer_response(y: np.ndarray) -> np.ndarray:
    """|difference of two Laplacians| at every interior pixel: structure cancels, noise stays."""
    h, w = y.shape
    if h < 3 or w < 3:
        raise ValueError(f"image {y.shape} too small for a noise estimate")
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    acc = np.zeros((h - 2, w - 2))
    for dy in range(3):
        for dx in range(3):
            acc += kernel[dy, dx] * y[dy : dy + h - 2, dx : dx + w - 2]
    return np.abs(acc)


def noise_sigma(img: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Immerkaer's fast noise estimate (sigma, 0..255) of a uint8 image's Y channel.

    sigma = sqrt(pi/2) / 6 * mean |response|, over the interior pixels (or those in `mask`,
    an (H-2)x(W-2) boolean array).
    """
    response = _immerkaer_response(rgb_to_y(img))
    if mask is not None:
        response = response[mask]
    return float(math.sqrt(math.pi / 2) * response.mean() / 6)


def flat_mask(img: np.ndarray, share: float = 0.5) -> np.ndarray:
    """The flattest `share` of an image's interior pixels (smoothed gradient magnitude)."""
    from scipy import ndimage

    y = rgb_to_y(img)
    grad = np.hypot(ndimage.sobel(y, 0), ndimage.sobel(y, 1))
    grad = ndimage.gaussian_filter(grad, 2)[1:-1, 1:-1]
    return grad <= np.quantile(grad, share)


def noise_left(lr: np.ndarray, sr: np.ndarray, scale: int = 4) -> float:
    """Share of the input's noise left in an upscaled output, measured on the LR grid.

    The output is brought back to the LR size (area average) and Immerkaer's estimate is taken
    on the flattest half of the INPUT, the same pixels in both, so sharpened or invented
    edges do not count as noise: 1 keeps all the noise (bicubic is near 0.9), 0 removes it.
    It misses low-frequency patterns (halftone, JPEG blocks): read it beside NIQE and the
    visual grid.
    """
    down = to_lr_grid(sr, lr.shape)
    mask = flat_mask(lr)
    base = noise_sigma(lr, mask)
    return float("nan") if base == 0 else noise_sigma(down, mask) / base


def to_lr_grid(sr: np.ndarray, lr_shape: tuple[int, ...]) -> np.ndarray:
    """An upscaled uint8 output brought back to its input's size by an area average."""
    from PIL import Image

    h, w = lr_shape[:2]
    return np.asarray(Image.fromarray(sr).resize((w, h), Image.Resampling.BOX))


def block_edge_excess(img: np.ndarray) -> float:
    """How much larger the steps across a JPEG's block lines (anchored at (0, 0)) are than
    the steps elsewhere, mean absolute difference on 0..255: luma on the 8-pixel grid and
    Cb, Cr on the 16-pixel grid (4:2:0 chroma blocks; the lines of unsubsampled chroma's
    8-pixel grid include them). Natural edges fall on every phase alike, so an image
    without blocks measures near 0.
    """
    from PIL import Image

    if min(img.shape[:2]) < 32:
        raise ValueError(f"image {img.shape[:2]} too small for a 16-pixel block grid")
    ycc = np.asarray(Image.fromarray(img).convert("YCbCr"), dtype=np.float64)
    excess = []
    for channel, period in ((0, 8), (1, 16), (2, 16)):
        plane = ycc[..., channel]
        for steps in (np.abs(np.diff(plane, axis=1)), np.abs(np.diff(plane, axis=0)).T):
            on_line = (np.arange(steps.shape[1]) + 1) % period == 0
            excess.append(steps[:, on_line].mean() - steps[:, ~on_line].mean())
    return float(np.mean(excess))


def blocks_left(lr: np.ndarray, sr: np.ndarray, min_excess: float = 0.25) -> float:
    """Share of the input's JPEG block edges left in an upscaled output, on the LR grid.

    block_edge_excess of the output brought back to the input's size, over the input's: 1
    keeps them, 0 smooths them away (bicubic's own smoothing leaves 0.5-0.7 on real/); NaN
    when the input shows fewer than `min_excess` levels of them (not a blocky JPEG, or
    blocks off the (0, 0) grid).
    """
    base = block_edge_excess(lr)
    if base < min_excess:
        return float("nan")
    return block_edge_excess(to_lr_grid(sr, lr.shape)) / base


def grid_peak_db(img: np.ndarray, scale: int = 4, window: int = 64) -> float:
    """How much a pattern repeating every `scale` pixels stands out, in dB (median of windows).

    A pixel shuffle gives each of the scale x scale output phases its own filter; when they
    drift apart the output carries a faint grid. Per `window` x `window` block of the Y
    channel (Hann-windowed), the power at the period-`scale` harmonics (3x3 bins around
    each) is set against the mean power of the ring of bins around them: near 0 dB or below
    for natural content (bicubic -2 to -3.5, Real-ESRGAN x4plus about 0), above it for a grid.
    """
    y = rgb_to_y(img).astype(np.float64)
    if min(y.shape) < window:
        raise ValueError(f"image {y.shape} smaller than the {window}-pixel window")
    taper = np.outer(np.hanning(window), np.hanning(window))
    step = window // scale
    near = np.arange(-3, 4)
    ratios = []
    for top in range(0, y.shape[0] - window + 1, window):
        for left in range(0, y.shape[1] - window + 1, window):
            block = y[top : top + window, left : left + window]
            power = np.abs(np.fft.fft2((block - block.mean()) * taper)) ** 2
            peak = ring = 0.0
            for i in range(scale):
                for j in range(scale):
                    if i == j == 0:
                        continue
                    around = power[np.ix_((i * step + near) % window, (j * step + near) % window)]
                    centre = around[2:5, 2:5].sum()
                    peak += centre
                    ring += (around.sum() - centre) * 9 / 40  # the 40 ring bins, per 9
            if ring > 0:
                ratios.append(10 * math.log10(peak / ring))
    return float(np.median(ratios)) if ratios else float("nan")

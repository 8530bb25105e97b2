"""Image quality: dark, overexposed, blurry, low-information, odd size, odd aspect ratio, odd mode.

Every check reads the per-image statistics the image-folder adapter measured once
(:func:`datafix.data.image_folder.image_statistics`). Unreadable and corrupt files never get
here: they are broken samples. Rules (each stated in the report):

- dark: over 90 % of pixels have luminance below 0.1; overexposed: over 90 % above 0.9;
- low information: luminance histogram entropy below 2 bits (a nearly flat image);
- blurry: Laplacian variance (relative to the image's contrast) below 0.1 x the dataset's
  median (not for low-information images);
- odd size: area below 1/16 or above 16 x the median area, or a side under 8 pixels;
- odd aspect ratio: width/height more than 3 x away from the median ratio (either way);
- odd mode: a colour mode or channel count other than the most common one.

Scores lie in [0, 1]; lower = more affected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datafix.checks.registry import TASKS, CheckResult, register_check
from datafix.signals.bundle import Signals

SHARE = 0.9
MIN_ENTROPY_BITS = 2.0
BLUR_RATIO = 0.1
SIZE_RATIO = 16.0
MIN_SIDE = 8
ASPECT_RATIO = 3.0


def _result(flag: str, score: str, flags: np.ndarray, scores: np.ndarray, rule: str) -> CheckResult:
    columns = pd.DataFrame({flag: np.asarray(flags, bool), score: np.clip(np.asarray(scores, float), 0.0, 1.0)})
    return CheckResult(columns, rule)


def _register(name: str, description: str):
    return register_check(name, requires=("image_stats",), flag=f"is_{name}", score=f"{name}_score",
                          description=description, tasks=TASKS)


@_register("dark", "images that are almost entirely dark")
def dark_check(signals: Signals) -> CheckResult:
    """Flag images with over 90 % of pixels darker than 0.1 luminance.

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> stats = pd.DataFrame({"dark_share": [0.99, 0.2]})
    >>> dark_check(Signals(None, 0, image_stats=stats, verbose=False)).columns["is_dark"].tolist()
    [True, False]
    """
    share = signals.image_stats["dark_share"].to_numpy(float)
    return _result("is_dark", "dark_score", share > SHARE, 1.0 - share, f"over {SHARE:.0%} of pixels below 0.1 luminance")


@_register("overexposed", "images that are almost entirely white")
def overexposed_check(signals: Signals) -> CheckResult:
    """Flag images with over 90 % of pixels brighter than 0.9 luminance.

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> stats = pd.DataFrame({"bright_share": [0.95, 0.1]})
    >>> overexposed_check(Signals(None, 0, image_stats=stats, verbose=False)).columns["is_overexposed"].tolist()
    [True, False]
    """
    share = signals.image_stats["bright_share"].to_numpy(float)
    return _result("is_overexposed", "overexposed_score", share > SHARE, 1.0 - share,
                   f"over {SHARE:.0%} of pixels above 0.9 luminance")


@_register("low_information", "nearly flat images")
def low_information_check(signals: Signals) -> CheckResult:
    """Flag images whose luminance histogram has under 2 bits of entropy.

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> stats = pd.DataFrame({"entropy": [0.5, 7.0]})
    >>> low_information_check(Signals(None, 0, image_stats=stats, verbose=False)).columns["is_low_information"].tolist()
    [True, False]
    """
    entropy = signals.image_stats["entropy"].to_numpy(float)
    return _result("is_low_information", "low_information_score", entropy < MIN_ENTROPY_BITS, entropy / 8.0,
                   f"luminance entropy below {MIN_ENTROPY_BITS} bits")


@_register("blurry", "images much less sharp than the rest")
def blurry_check(signals: Signals) -> CheckResult:
    """Flag images whose Laplacian variance is under 0.1 x the median (flat images excluded).

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> stats = pd.DataFrame({"blur": [0.1, 5.0, 4.0, 6.0], "entropy": [6.0] * 4})
    >>> blurry_check(Signals(None, 0, image_stats=stats, verbose=False)).columns["is_blurry"].tolist()
    [True, False, False, False]
    """
    blur = signals.image_stats["blur"].to_numpy(float)
    entropy = signals.image_stats["entropy"].to_numpy(float)
    judged = np.isfinite(blur) & (entropy >= MIN_ENTROPY_BITS)
    median = float(np.median(blur[judged])) if judged.any() else 0.0
    ratio = np.where(judged, blur / median, 1.0) if median > 0 else np.ones_like(blur)
    return _result("is_blurry", "blurry_score", judged & (ratio < BLUR_RATIO), ratio,
                   f"Laplacian variance below {BLUR_RATIO} x median = {BLUR_RATIO * median:.4g}")


@_register("odd_size", "images far smaller or larger than the rest")
def odd_size_check(signals: Signals) -> CheckResult:
    """Flag images whose area is 16x off the median, or with a side under 8 pixels.

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> stats = pd.DataFrame({"width": [64, 64, 64, 1], "height": [64, 60, 64, 1]})
    >>> odd_size_check(Signals(None, 0, image_stats=stats, verbose=False)).columns["is_odd_size"].tolist()
    [False, False, False, True]
    """
    w = signals.image_stats["width"].to_numpy(float)
    h = signals.image_stats["height"].to_numpy(float)
    log_ratio = np.abs(np.log(w * h / np.median(w * h)))
    flags = (log_ratio > np.log(SIZE_RATIO)) | (np.minimum(w, h) < MIN_SIDE)
    return _result("is_odd_size", "odd_size_score", flags, np.exp(-log_ratio / np.log(SIZE_RATIO)),
                   f"area over {SIZE_RATIO:g}x away from the median area {np.median(w * h):.0f} px, or a side under {MIN_SIDE} px")


@_register("odd_aspect_ratio", "images much wider or taller than the rest")
def odd_aspect_ratio_check(signals: Signals) -> CheckResult:
    """Flag images whose width/height is more than 3x away from the median ratio.

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> stats = pd.DataFrame({"width": [64, 64, 2000], "height": [64, 48, 10]})
    >>> odd_aspect_ratio_check(Signals(None, 0, image_stats=stats, verbose=False)).columns["is_odd_aspect_ratio"].tolist()
    [False, False, True]
    """
    log_aspect = np.log(signals.image_stats["width"].to_numpy(float) / signals.image_stats["height"].to_numpy(float))
    dev = np.abs(log_aspect - np.median(log_aspect))
    return _result("is_odd_aspect_ratio", "odd_aspect_ratio_score", dev > np.log(ASPECT_RATIO),
                   np.exp(-dev / np.log(ASPECT_RATIO)),
                   f"width/height over {ASPECT_RATIO:g}x away from the median ratio {np.exp(np.median(log_aspect)):.3g}")


@_register("odd_mode", "images in an unusual colour mode or channel count")
def odd_mode_check(signals: Signals) -> CheckResult:
    """Flag images whose colour mode or channel count differs from the most common one.

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> stats = pd.DataFrame({"mode": ["RGB", "RGB", "L"], "channels": [3, 3, 1]})
    >>> odd_mode_check(Signals(None, 0, image_stats=stats, verbose=False)).columns["is_odd_mode"].tolist()
    [False, False, True]
    """
    mode = signals.image_stats["mode"]
    channels = signals.image_stats["channels"]
    common_mode, common_ch = mode.mode().iloc[0], channels.mode().iloc[0]
    flags = (mode != common_mode).to_numpy() | (channels != common_ch).to_numpy()
    return _result("is_odd_mode", "odd_mode_score", flags, (~flags).astype(float),
                   f"colour mode other than {common_mode!r} or other than {int(common_ch)} channels")

"""Named augmentation recipes: albumentations transforms that ultralytics applies while training.

ultralytics 8.4 takes custom albumentations through the `augmentations` train argument (a list of
transforms); they replace its default Albumentations block (`ultralytics/data/augment.py`,
`Albumentations`) and run after mosaic/affine, before HSV and flips. The trainer stores them in
checkpoints as `A.to_dict()` dicts, so a resumed run keeps its recipe. Only pixel-level transforms are
used: boxes stay valid without bbox bookkeeping, and the recipe is cheap enough for CPU training.

Recipe `street-camera-v1` models what fixed street cameras see that curated photos do not:
night and low light, rain, fog, motion blur, JPEG/H.264-like compression, sensor noise and glare.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from typing import Any

from streetwatch.errors import InputError


def _street_camera_v1() -> list[Any]:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A

    return [
        # Night / low light: darker, gamma-crushed, with a cool or sodium-lamp colour cast.
        A.OneOf(
            [
                A.RandomBrightnessContrast(brightness_limit=(-0.45, -0.15), contrast_limit=(-0.3, 0.0), p=1.0),
                A.RandomGamma(gamma_limit=(140, 220), p=1.0),
                A.ColorJitter(brightness=(0.35, 0.7), contrast=(0.6, 0.9), saturation=(0.4, 0.9), hue=0.03, p=1.0),
            ],
            p=0.2,
        ),
        # Weather: rain streaks or fog; cameras outdoors see both all year.
        A.OneOf(
            [
                A.RandomRain(
                    slant_range=(-10, 10), drop_length=12, drop_width=1, blur_value=3, brightness_coefficient=0.85, p=1
                ),
                A.RandomFog(fog_coef_range=(0.1, 0.3), alpha_coef=0.08, p=1.0),
            ],
            p=0.1,
        ),
        # Glare: low sun or headlights into the lens.
        A.RandomSunFlare(flare_roi=(0.0, 0.0, 1.0, 0.5), src_radius=80, num_flare_circles_range=(2, 5), p=0.03),
        # Motion blur from vehicles passing and PTZ movement; plain blur from dirty domes or focus.
        A.OneOf([A.MotionBlur(blur_limit=(3, 9), p=1.0), A.Blur(blur_limit=(3, 5), p=1.0)], p=0.15),
        # Sensor noise, worst at night.
        A.OneOf([A.GaussNoise(std_range=(0.02, 0.08), p=1.0), A.ISONoise(intensity=(0.1, 0.5), p=1.0)], p=0.15),
        # Compression: RTSP streams and evidence JPEGs are heavily compressed.
        A.ImageCompression(quality_range=(25, 80), p=0.3),
    ]


def _none() -> list[Any]:
    """No custom transforms: ultralytics' own default Albumentations block applies."""
    return []


RECIPES: dict[str, Callable[[], list[Any]]] = {
    "street-camera-v1": _street_camera_v1,
    "none": _none,
}
DEFAULT_RECIPE = "street-camera-v1"


def recipe_names() -> tuple[str, ...]:
    return tuple(RECIPES)


def build_recipe(name: str) -> list[Any]:
    """The transforms of a named recipe; an unknown name is refused with the nearest valid one."""
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"unknown augmentation recipe {name!r}: expected one of {', '.join(RECIPES)}{hint}")
    return RECIPES[name]()


def describe_recipe(name: str) -> list[str]:
    """One line per transform, for run records and model cards."""
    return [repr(t) for t in build_recipe(name)]

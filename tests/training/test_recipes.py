from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

from streetwatch.errors import InputError
from streetwatch.training.recipes import build_recipe, describe_recipe, recipe_names


def _leaves(transforms: list) -> list:
    out = []
    for t in transforms:
        out += _leaves(list(t.transforms)) if isinstance(t, A.BaseCompose) else [t]
    return out


def test_street_recipe_covers_the_street_conditions() -> None:
    kinds = {type(t).__name__ for t in _leaves(build_recipe("street-camera-v1"))}
    # night/low light, rain, fog, motion blur, compression, sensor noise, glare
    for expected in ("RandomBrightnessContrast", "RandomGamma", "RandomRain", "RandomFog", "MotionBlur"):
        assert expected in kinds
    for expected in ("ImageCompression", "GaussNoise", "ISONoise", "RandomSunFlare"):
        assert expected in kinds


def test_street_recipe_is_pixel_only_and_serialisable() -> None:
    transforms = build_recipe("street-camera-v1")
    # Pixel-level only: boxes stay valid without bbox bookkeeping inside ultralytics.
    assert not [t for t in _leaves(transforms) if isinstance(t, A.DualTransform)]
    # ultralytics stores augmentations in checkpoints with A.to_dict; a resumed run restores them.
    restored = [A.from_dict(A.to_dict(t)) for t in transforms]
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    pipeline = A.Compose([A.OneOf(restored, p=1.0)], seed=0)
    for _ in range(20):
        out = pipeline(image=image)["image"]
        assert out.shape == image.shape and out.dtype == np.uint8


@pytest.mark.parametrize(
    ("name", "match"),
    [("street-camera-v2", "did you mean 'street-camera-v1'"), ("fog", "expected one of street-camera-v1, none")],
)
def test_unknown_recipe_is_refused(name: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        build_recipe(name)


def test_recipe_names_and_description() -> None:
    assert recipe_names() == ("street-camera-v1", "none")
    assert describe_recipe("none") == []
    assert any("ImageCompression" in line for line in describe_recipe("street-camera-v1"))

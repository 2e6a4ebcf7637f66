"""Taxonomy and model releases. Imported by every area; imports none of them."""

from streetwatch.models.taxonomy import (
    CLASS_NAMES,
    TAXONOMY_VERSION,
    VEHICLE_CLASSES,
    ViolationType,
    class_id,
)

__all__ = ["CLASS_NAMES", "TAXONOMY_VERSION", "VEHICLE_CLASSES", "ViolationType", "class_id"]

"""The detection engine: numpy + OpenCV + onnxruntime, no torch (edge boxes run this)."""

from streetwatch.files import sha256_file
from streetwatch.inference.detections import Detections
from streetwatch.inference.detector import Detector
from streetwatch.inference.model_file import ModelInfo

__all__ = ["Detections", "Detector", "ModelInfo", "sha256_file"]

"""The detection engine: numpy + OpenCV + onnxruntime, no torch (edge boxes run this)."""

from streetwatch.inference.detections import Detections
from streetwatch.inference.detector import Detector
from streetwatch.inference.model_file import ModelInfo, sha256_file

__all__ = ["Detections", "Detector", "ModelInfo", "sha256_file"]

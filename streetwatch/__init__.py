"""streetwatch: computer vision for city management.

Areas install as subpackages: `streetwatch.inference` (ONNX engine), `streetwatch.edge`
(camera agent), `streetwatch.cases` (case service), `streetwatch.datasets`,
`streetwatch.training`, `streetwatch.models` (taxonomy and releases).
"""

from streetwatch.version import __version__

__all__ = ["__version__"]

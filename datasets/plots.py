"""PNG plots for the stats report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from streetwatch.datasets.stats import DatasetStats
from streetwatch.models.taxonomy import CLASS_NAMES


def _pyplot():  # type: ignore[no-untyped-def]
    os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "streetwatch-matplotlib"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, folder: Path, name: str) -> str:  # type: ignore[no-untyped-def]
    fig.tight_layout()
    fig.savefig(folder / name, dpi=100)
    plt.close(fig)
    return name


def write_plots(stats: DatasetStats, folder: Path) -> list[str]:
    """Write the plots into `folder`; returns their file names."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []

    fig, ax = plt.subplots(figsize=(11, 4.5))
    x = np.arange(len(CLASS_NAMES))
    width = 0.8 / max(1, len(stats.splits))
    for k, split in enumerate(stats.splits):
        human = [stats.instances[split][c] - stats.machine[split][c] for c in CLASS_NAMES]
        machine = [stats.machine[split][c] for c in CLASS_NAMES]
        pos = x + (k - (len(stats.splits) - 1) / 2) * width
        ax.bar(pos, human, width, label=f"{split} (human)")
        ax.bar(pos, machine, width, bottom=human, hatch="//", alpha=0.6, label=f"{split} (machine)")
    ax.set_xticks(x, CLASS_NAMES, rotation=30, ha="right")
    ax.set_ylabel("boxes")
    ax.set_yscale("symlog")
    ax.set_title("Instances per class and split")
    ax.legend(fontsize=7, ncol=2)
    names.append(_save(plt, fig, folder, "class_counts.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    bins = np.linspace(0, 1, 26)
    for cls in CLASS_NAMES:
        values = stats.relative_sizes.get(cls) or []
        if values:
            ax.hist(values, bins=bins, histtype="step", label=f"{cls} ({len(values)})")
    ax.set_xlabel("box size: sqrt(box area / image area)")
    ax.set_ylabel("boxes")
    ax.set_yscale("log")
    ax.set_title("Box size distribution")
    ax.legend(fontsize=7, ncol=2)
    names.append(_save(plt, fig, folder, "box_sizes.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    sources = list(stats.images_by_source)
    bottom = np.zeros(len(sources))
    for split in stats.splits:
        values = np.array([stats.images_by_source[s][split] for s in sources], dtype=float)
        ax.bar(sources, values, bottom=bottom, label=split)
        bottom += values
    ax.set_ylabel("images")
    ax.set_title("Images per source")
    ax.legend()
    names.append(_save(plt, fig, folder, "images_per_source.png"))
    return names

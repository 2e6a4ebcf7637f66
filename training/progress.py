"""One line per epoch (and a few per epoch on long epochs) while ultralytics trains quietly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO


def _fmt_seconds(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class EpochReporter:
    """ultralytics callbacks printing losses, validation metrics, elapsed time and an ETA."""

    def __init__(self, out: TextIO, batch_every: int = 50) -> None:
        self.out = out
        self.batch_every = batch_every
        self._start = time.monotonic()
        self._epoch_start = self._start
        self._batches = 0
        self._in_epoch = False

    def callbacks(self) -> dict[str, Callable[[Any], None]]:
        return {
            "on_train_start": self.on_train_start,
            "on_train_epoch_start": self.on_epoch_start,
            "on_train_batch_end": self.on_batch_end,
            "on_fit_epoch_end": self.on_fit_epoch_end,
            "on_train_end": self.on_train_end,
        }

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def on_train_start(self, trainer: Any) -> None:
        self._start = time.monotonic()
        self._print(
            f"training {trainer.epochs} epochs from epoch {trainer.start_epoch + 1}, "
            f"{len(trainer.train_loader.dataset)} images, imgsz {trainer.args.imgsz}, run {trainer.save_dir}"
        )

    def on_epoch_start(self, trainer: Any) -> None:
        self._epoch_start = time.monotonic()
        self._batches = 0
        self._in_epoch = True

    def on_batch_end(self, trainer: Any) -> None:
        self._batches += 1
        if self.batch_every and self._batches % self.batch_every == 0:
            total = len(trainer.train_loader)
            self._print(f"  epoch {trainer.epoch + 1}: batch {self._batches}/{total}")

    def on_fit_epoch_end(self, trainer: Any) -> None:
        if not self._in_epoch:
            self._final(trainer)  # ultralytics calls it again, with epoch + 1, after validating best.pt
            return
        self._in_epoch = False
        now = time.monotonic()
        done = trainer.epoch + 1 - trainer.start_epoch
        remaining = trainer.epochs - trainer.epoch - 1
        eta = (now - self._start) / max(done, 1) * remaining
        losses = ""
        if trainer.tloss is not None:
            items = trainer.label_loss_items(trainer.tloss, prefix="train")
            losses = " ".join(f"{k.split('/')[-1]} {float(v):.3f}" for k, v in items.items())
        metrics = trainer.metrics or {}
        m50, m5095 = metrics.get("metrics/mAP50(B)"), metrics.get("metrics/mAP50-95(B)")
        shown = f" mAP50 {m50:.3f} mAP50-95 {m5095:.3f}" if m50 is not None and m5095 is not None else ""
        self._print(
            f"epoch {trainer.epoch + 1}/{trainer.epochs} {losses}{shown} "
            f"epoch {_fmt_seconds(now - self._epoch_start)} elapsed {_fmt_seconds(now - self._start)} "
            f"eta {_fmt_seconds(eta)}"
        )

    def _final(self, trainer: Any) -> None:
        metrics = trainer.metrics or {}
        m50, m5095 = metrics.get("metrics/mAP50(B)"), metrics.get("metrics/mAP50-95(B)")
        if m50 is not None and m5095 is not None:
            self._print(f"best.pt on val: mAP50 {m50:.3f} mAP50-95 {m5095:.3f}")

    def on_train_end(self, trainer: Any) -> None:
        self._print(f"done in {_fmt_seconds(time.monotonic() - self._start)}; weights in {trainer.save_dir}/weights")

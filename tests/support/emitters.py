"""An `Emit` for tests that run a source without a pipeline: keeps the batches, acknowledges at once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hazwatch.batch import ReadingBatch


class Collected(list):
    """The batches a source emitted; `on_durable` runs at once, as in a pipeline without a journal."""

    def __call__(
        self, batch: ReadingBatch, refused: np.ndarray | None = None, on_durable: Callable[[], None] | None = None
    ) -> None:
        if len(batch):
            self.append(batch)
        if on_durable is not None:
            on_durable()

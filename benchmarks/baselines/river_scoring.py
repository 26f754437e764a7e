"""The peer baseline: River's HalfSpaceTrees scoring and learning one reading at a time.

HalfSpaceTrees is River's documented streaming anomaly detector and what a peer would reach for.
It wants features in [0, 1], so each reading is scaled by its sensor's physical range; one model
per sensor kind (a model per sensor would cost ~10 trees of 2^9 nodes each for every sensor, which
no peer would run at a province's scale — and it would not score faster per reading).
"""

from __future__ import annotations

from river import anomaly

from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry


class RiverScoring:
    def __init__(self, registry: SensorRegistry, threshold: float = 0.95) -> None:
        kinds = sorted({s.kind.value for s in registry})
        self.models = {kind: anomaly.HalfSpaceTrees(n_trees=10, height=8, window_size=250, seed=42) for kind in kinds}
        self.model_of = [self.models[s.kind.value] for s in registry]
        self.low = [s.range_min for s in registry]
        self.span = [max(s.range_max - s.range_min, 1e-9) for s in registry]
        self.threshold = threshold

    def update(self, batch: ReadingBatch) -> int:
        """Score then learn every reading; returns how many scored as anomalies."""
        anomalies = 0
        for slot, value in zip(batch.slot.tolist(), batch.value.tolist(), strict=True):
            model = self.model_of[slot]
            x = {"value": min(max((value - self.low[slot]) / self.span[slot], 0.0), 1.0)}
            if model.score_one(x) >= self.threshold:
                anomalies += 1
            model.learn_one(x)
        return anomalies

"""Column-wise scans shared by the rules: sequential per-sensor logic expressed as numpy accumulations.

Every function takes (steps × columns) matrices plus the per-column state carried in from the previous
batch, so a rule gives the same answer whether readings arrive one at a time or many steps at once.
"""

from __future__ import annotations

import numpy as np


def last_decision(decides: np.ndarray, outcome: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """Per cell: the `outcome` of the latest cell (up to and including it) where `decides`, else `initial`.

    This is hysteresis and on/off-delay logic: a state changes only at decisive cells and holds between.
    """
    if decides.all():
        return outcome.copy()
    rows = np.arange(decides.shape[0])[:, None]
    source = np.where(decides, rows, -1)
    np.maximum.accumulate(source, axis=0, out=source)
    held = np.take_along_axis(outcome, np.maximum(source, 0), axis=0)
    return np.where(source >= 0, held, initial[None, :])


def run_start(state: np.ndarray, initial_state: np.ndarray, time: np.ndarray, initial_start: np.ndarray) -> np.ndarray:
    """Per cell: when the current run of equal `state` values began (carried over from earlier batches)."""
    previous = np.concatenate([initial_state[None, :], state[:-1]])
    changed = state != previous
    rows = np.arange(state.shape[0])[:, None]
    source = np.where(changed, rows, -1)
    np.maximum.accumulate(source, axis=0, out=source)
    started = np.take_along_axis(time, np.maximum(source, 0), axis=0)
    return np.where(source >= 0, started, initial_start[None, :])


def changed_cells(levels: np.ndarray, initial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of cells whose level differs from the cell above (or the carried-in level), row-major."""
    previous = np.concatenate([initial[None, :], levels[:-1]])
    return np.nonzero(levels != previous)

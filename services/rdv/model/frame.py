"""A micro-batch of rows flowing through the pipeline's stages, column by column.

Scalar columns are float64 arrays of shape (n,), vectors (n, d), categorical inputs object
arrays of strings or None. A row that fails a stage keeps flowing with placeholder values so
the batch stays rectangular; its first error is what gets reported for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RowError:
    code: str  # missing_feature, invalid_feature, skipped, model_error
    message: str


@dataclass
class Frame:
    n: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    errors: list[RowError | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.errors:
            self.errors = [None] * self.n

    def fail(
        self,
        rows: npt.NDArray[np.bool_] | npt.NDArray[np.intp],
        code: str,
        message: str | list[str],
    ) -> None:
        """Record an error for these rows (a mask or indices), keeping each row's first."""
        indices = np.flatnonzero(rows) if rows.dtype == np.bool_ else rows
        for k, i in enumerate(indices):
            if self.errors[i] is None:
                text = message if isinstance(message, str) else message[k]
                self.errors[i] = RowError(code, text)

    def vector(self, name: str) -> Array:
        column = self.columns[name]
        return column if column.ndim == 2 else column.reshape(-1, 1)

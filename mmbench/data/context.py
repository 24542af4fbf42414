"""What every modality decoder needs to name the culprit in a message (shared by images, audio, text)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmbench.data.errors import DatasetError
from mmbench.data.missing import feature_fix
from mmbench.data.spec import DatasetSpec, ModalitySpec


class Context:
    """What every decoder needs to name the culprit in a message."""

    def __init__(self, spec: DatasetSpec, modality: str, m: ModalitySpec, options: dict[str, Any]):
        self.spec, self.modality, self.m, self.options = spec, modality, m, options

    def where(self, column: str | None = None) -> str:
        col = column or self.m.columns[0]
        return f"dataset {self.spec.name!r}: modality {self.modality!r} (column {col!r})"

    def missing(self, role: str, rows: np.ndarray, what: str, column: str | None = None) -> DatasetError:
        shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        return DatasetError(
            f"{self.where(column)} has {len(rows)} {what} value(s) in the {role} split (rows {shown} of that split). "
            + feature_fix(self.m.kind, self.spec.missing_features)
        )

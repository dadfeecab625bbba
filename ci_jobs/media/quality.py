"""No-reference picture quality: BRISQUE (the `brisque` package's LIVE-trained SVM) on a 0-100 scale.

`brisque` 0.2 builds its feature vector from 1-element arrays, which numpy 2 refuses to turn into
floats; `_Brisque.scale_features` flattens them first. The package is the `quality` extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..domain.failures import Failure
from ..errors import JobFailed

_MAX_SHORT_SIDE = 540  # larger frames are scored at this size: BRISQUE's cost grows with the pixels
_scorer: Any = None


def _load() -> Any:
    global _scorer
    if _scorer is None:
        try:
            from brisque import BRISQUE  # noqa: PLC0415 - an optional extra
        except ImportError as exc:
            raise JobFailed(Failure.INTERNAL_ERROR, "QualityEstimate needs the `quality` extra "
                            f"(pip install 'ci-jobs[quality]'): {exc}") from exc

        class _Brisque(BRISQUE):  # type: ignore[misc]
            def scale_features(self, features: Any) -> Any:
                flat = np.array([float(np.asarray(f, dtype=np.float64).ravel()[0]) for f in features])
                return super().scale_features(flat)

        _scorer = _Brisque(url=False)
    return _scorer


def score(rgb: np.ndarray) -> float:
    """The quality of one RGB uint8 picture: 100 - BRISQUE, clipped to [0, 100] (higher is better)."""
    return float(np.clip(100.0 - float(_load().score(rgb)), 0.0, 100.0))


def max_short_side() -> int:
    """The short side frames are scaled down to before scoring."""
    return _MAX_SHORT_SIDE

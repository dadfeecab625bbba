"""The vision models of VideoTag, each loaded once per worker process from an installed package.

Nothing is downloaded: OpenCV 4.x (`opencv-python<5`) ships the Haar frontal-face cascade (Viola-Jones
with Lienhart's stumps, under the Intel License Agreement, BSD-style, in `cv2.data`; the 5.0 wheels ship
none) and `rapidocr-onnxruntime` ships PP-OCRv4's Chinese+English text detector and recogniser
(PaddleOCR's models, Apache-2.0) inside its wheel. Both are the `vision` extra; a missing one is one
JobFailed naming it.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

from ..domain.failures import Failure
from ..errors import JobFailed

EXTRA = "pip install 'ci-jobs[vision]'"
FACE_CASCADE = "haarcascade_frontalface_default.xml"
OCR_SIDE = 960  # the text detector sees frames whose long side is at most this


def need(module: str, what: str) -> Any:
    """Import `module` or fail the job saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise JobFailed(Failure.INTERNAL_ERROR, f"{what} needs the vision extra ({EXTRA}): {exc}") from exc


@functools.cache
def cv2() -> Any:
    """OpenCV, refusing a 5.x build (no Haar cascades ship with it)."""
    module = need("cv2", "face detection")
    if int(str(module.__version__).split(".")[0]) >= 5:
        raise JobFailed(Failure.INTERNAL_ERROR, f"face detection needs OpenCV 4 (opencv-python<5: 5.x ships no Haar "
                        f"cascades); found {module.__version__} ({EXTRA})")
    return module


@functools.cache
def face_cascade() -> Any:
    """OpenCV's Haar frontal-face cascade."""
    cv = cv2()
    path = os.path.join(cv.data.haarcascades, FACE_CASCADE)
    cascade = cv.CascadeClassifier(path)
    if cascade.empty():
        raise JobFailed(Failure.INTERNAL_ERROR, f"OpenCV's {FACE_CASCADE} is missing or damaged at {path}")
    return cascade


@functools.cache
def ocr() -> Any:
    """RapidOCR (PP-OCRv4 detection + recognition; the angle classifier is not used)."""
    cv2()
    module = need("rapidocr_onnxruntime", "on-screen text recognition")
    return module.RapidOCR(use_cls=False, print_verbose=False, det_limit_side_len=OCR_SIDE, det_limit_type="max")

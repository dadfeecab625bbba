"""SDR to HDR: an inverse tone mapping of BT.709 SDR into BT.2020 with PQ (HDR10) or HLG, as 10-bit frames.

The FFmpeg in PyAV has no zscale, so the mapping is numpy: BT.1886 gamma 2.4 to linear light, BT.709
to BT.2020 primaries, SDR reference white at 203 nits (ITU-R BT.2408) with highlights expanded up to
`PEAK_NITS`, then the PQ inverse EOTF (SMPTE ST 2084) or the HLG OETF (ARIB STD-B67, SDR white at 75%
signal), then BT.2020 non-constant-luminance Y'CbCr in 10-bit limited range. `to_sdr` inverts it, so a
test can map an HDR output back and compare it with its source. HDR10 output carries mastering-display
and content-light-level metadata (`x265_params`).
"""

from __future__ import annotations

import av
import numpy as np

WHITE_NITS = 203.0
_EXPAND = 1.5  # highlight expansion: linear SDR 1.0 ends at (1 + _EXPAND) x reference white
PEAK_NITS = WHITE_NITS * (1 + _EXPAND)
_HLG_WHITE = 0.265  # scene-linear HLG level of SDR white (75% signal)
_709_TO_2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]], np.float32)
_2020_TO_709 = np.linalg.inv(_709_TO_2020).astype(np.float32)
_KR, _KB = 0.2627, 0.0593
_M1, _M2 = 2610 / 16384, 2523 / 4096 * 128
_C1, _C2, _C3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
_A, _B, _C = 0.17883277, 0.28466892, 0.55991073
# HDR10 static metadata: Display P3 primaries and D65 in 0.00002 units, 1000 / 0.005 nits mastering.
MASTER_DISPLAY = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)"
MAX_CLL = int(np.ceil(PEAK_NITS))  # no pixel (and so no frame average) can exceed the mapping's peak
TRC = {"hdr10": 16, "hlg": 18}  # AVCOL_TRC_SMPTE2084, AVCOL_TRC_ARIB_STD_B67
BT2020 = 9  # AVCOL_PRI_BT2020 and AVCOL_SPC_BT2020_NCL


def x265_params(mode: str) -> str:
    """The x265 colour signalling (and for HDR10 the SEI metadata) of an HDR output."""
    common = "colorprim=bt2020:colormatrix=bt2020nc:range=limited:repeat-headers=1"
    if mode == "hlg":
        return f"{common}:transfer=arib-std-b67"
    return f"{common}:transfer=smpte2084:hdr10=1:master-display={MASTER_DISPLAY}:max-cll={MAX_CLL},{MAX_CLL}"


def _expand(lin: np.ndarray) -> np.ndarray:
    return lin * (1 + _EXPAND * lin ** 4)


def _pq(nits: np.ndarray) -> np.ndarray:
    y = np.clip(nits / 10000.0, 0, 1) ** _M1
    return np.asarray(((_C1 + _C2 * y) / (1 + _C3 * y)) ** _M2)


def _pq_inverse(signal: np.ndarray) -> np.ndarray:
    e = np.clip(signal, 0, 1) ** (1 / _M2)
    return np.asarray(10000.0 * (np.maximum(e - _C1, 0) / (_C2 - _C3 * e)) ** (1 / _M1))


def _hlg(e: np.ndarray) -> np.ndarray:
    e = np.clip(e, 0, 1)
    return np.asarray(np.where(e <= 1 / 12, np.sqrt(3 * e), _A * np.log(np.maximum(12 * e - _B, 1e-6)) + _C))


def _hlg_inverse(signal: np.ndarray) -> np.ndarray:
    s = np.clip(signal, 0, 1)
    return np.asarray(np.where(s <= 0.5, s * s / 3, (np.exp((s - _C) / _A) + _B) / 12))


def _encode(lin2020: np.ndarray, mode: str) -> np.ndarray:
    """Relative linear BT.2020 light (SDR white = 1) to the mode's non-linear signal in [0, 1]."""
    expanded = _expand(np.clip(lin2020, 0, 1))
    if mode == "hlg":
        return _hlg(expanded * _HLG_WHITE)
    return _pq(expanded * WHITE_NITS)


_LUT_X = np.linspace(0, 1, 4097, dtype=np.float32)


def _decode(signal: np.ndarray, mode: str) -> np.ndarray:
    """The inverse of `_encode` (the expansion inverted by table)."""
    expanded = _hlg_inverse(signal) / _HLG_WHITE if mode == "hlg" else _pq_inverse(signal) / WHITE_NITS
    return np.interp(expanded, _expand(_LUT_X), _LUT_X).astype(np.float32)


def to_hdr_frame(rgb: np.ndarray, mode: str) -> av.VideoFrame:
    """An SDR RGB uint8 picture as a 10-bit BT.2020 yuv420p10le frame in `mode` (hdr10 or hlg)."""
    lin = (rgb.astype(np.float32) / 255.0) ** 2.4
    signal = _encode(lin @ _709_TO_2020.T, mode)
    r, g, b = signal[..., 0], signal[..., 1], signal[..., 2]
    y = _KR * r + (1 - _KR - _KB) * g + _KB * b
    cb, cr = (b - y) / (2 * (1 - _KB)), (r - y) / (2 * (1 - _KR))
    h, w = y.shape

    def sub(c: np.ndarray) -> np.ndarray:
        return np.asarray(c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))

    planes = [np.round(64 + 876 * y), np.round(512 + 896 * sub(cb)), np.round(512 + 896 * sub(cr))]
    flat = np.concatenate([np.clip(p, 0, 1023).astype(np.uint16).ravel() for p in planes])
    return av.VideoFrame.from_ndarray(flat.reshape(h * 3 // 2, w), format="yuv420p10le")


def to_sdr(frame: av.VideoFrame, mode: str) -> np.ndarray:
    """Map a frame made by `to_hdr_frame` (after coding) back to SDR RGB uint8."""
    data: np.ndarray = frame.to_ndarray(format="yuv420p10le").astype(np.float32).ravel()
    w, h = frame.width, frame.height
    quarter = (w // 2) * (h // 2)
    y: np.ndarray = (data[: w * h].reshape(h, w) - 64) / 876
    cb: np.ndarray = (data[w * h: w * h + quarter].reshape(h // 2, w // 2).repeat(2, 0).repeat(2, 1) - 512) / 896
    cr: np.ndarray = (data[w * h + quarter: w * h + 2 * quarter].reshape(h // 2, w // 2).repeat(2, 0).repeat(2, 1)
                      - 512) / 896
    r = y + 2 * (1 - _KR) * cr
    b = y + 2 * (1 - _KB) * cb
    g = (y - _KR * r - _KB * b) / (1 - _KR - _KB)
    lin = _decode(np.stack([r, g, b], axis=-1), mode) @ _2020_TO_709.T
    return np.asarray(np.clip(np.clip(lin, 0, 1) ** (1 / 2.4) * 255 + 0.5, 0, 255).astype(np.uint8))

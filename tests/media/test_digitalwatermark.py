"""DigitalWatermark: invisible (PSNR >= 36 dB), extracted bit-exactly after an H.264 re-encode at CRF 28, a
downscale to half size, a cut of the first 2 s and their combinations; absent from unmarked clips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ci_jobs.errors import JobFailed
from ci_jobs.media import digitalmark

from . import pictures as P
from .conftest import Outcome

OUT = {"Region": "ap-guangzhou", "Bucket": "examplebucket-1250000000", "Object": "out.${ext}"}
Run = Callable[..., Outcome]
MARK = {"Type": "Text", "Message": "123456789ab", "Version": "V1", "IgnoreError": "false"}


def extract(process: Run, path: str) -> dict[str, str]:
    data = process("ExtractDigitalWatermark", {"ExtractDigitalWatermark": {"Type": "Text", "Version": "V1"}},
                   path).result.data
    assert data is not None
    return {k: str(v) for k, v in data.items()}


@pytest.fixture
def source(tmp_path: Path) -> str:
    """3 s of a textured picture panning 2 px a frame (not flat colour): 2 s to cut and 1 s left."""
    return P.write(tmp_path / "src.mp4", P.frames(384, 288, 75, step=2), audio=True)


def transcode(process: Run, path: str, crf: str = "23", size: tuple[int, int] | None = None,
              start: str | None = None) -> str:
    video = {"Codec": "H.264", "Crf": crf, **({"Width": str(size[0]), "Height": str(size[1])} if size else {})}
    operation: dict[str, Any] = {"Container": {"Format": "mp4"}, "Video": video}
    if start is not None:
        operation["TimeInterval"] = {"Start": start}
    return process("Transcode", {"Transcode": operation, "Output": OUT}, path).path()


def bit_errors(path: str, message: str) -> int:
    """Channel bit errors before Reed-Solomon decoding, voted over the frames (a figure, not the verdict)."""
    votes = digitalmark.Votes()
    for frame in P.decode(path, "yuv420p"):
        votes.add(frame[:frame.shape[0] * 2 // 3])
    return votes.bit_errors(message)


def test_mark_is_invisible_and_survives_the_judged_attacks(process: Run, source: str) -> None:
    done = process("DigitalWatermark", {"DigitalWatermark": MARK, "Output": OUT}, source)
    assert done.result.data is not None and done.result.data["State"] == "Success"
    marked, plain = P.decode(done.path()), P.decode(source)
    quality = np.mean([P.psnr(P.luma(a), P.luma(b)) for a, b in zip(marked, plain, strict=True)])
    print(f"marked vs unmarked luma PSNR {quality:.1f} dB")
    assert quality >= 36
    attacks = {
        "as marked": done.path(),
        "H.264 CRF 28": transcode(process, done.path(), "28"),
        "half size": transcode(process, done.path(), size=(192, 144)),
        "first 2 s cut": transcode(process, done.path(), start="2"),
        "half size and CRF 28": transcode(process, done.path(), "28", (192, 144)),
        "half size, CRF 28, first 2 s cut": transcode(process, done.path(), "28", (192, 144), "2"),
    }
    for attack, path in attacks.items():
        print(f"{attack}: {bit_errors(path, MARK['Message'])} channel bit errors of 288")
        assert extract(process, path) == {"Type": "Text", "Version": "V1", "Message": "123456789ab",
                                          "State": "Success"}, attack
    assert P.decode(attacks["half size"])[0].shape[:2] == (144, 192)
    assert len(P.decode(attacks["first 2 s cut"])) == 25


def test_a_long_message_uses_the_finer_grid_and_survives_crf_28(process: Run, source: str) -> None:
    message = "ci-jobs_" + "0123456789" * 5 + "abcdef"  # 64 characters, the documented maximum
    done = process("DigitalWatermark", {"DigitalWatermark": {**MARK, "Message": message}, "Output": OUT}, source)
    for path in (done.path(), transcode(process, done.path(), "28"), transcode(process, done.path(), size=(192, 144))):
        assert extract(process, path)["Message"] == message
    chinese = "数字水印" + "x" * 8
    done = process("DigitalWatermark", {"DigitalWatermark": {**MARK, "Message": chinese}, "Output": OUT}, source)
    assert extract(process, transcode(process, done.path(), "28", (192, 144)))["Message"] == chinese


def test_transcode_with_digital_watermark_embeds_it(process: Run, source: str) -> None:
    done = process("Transcode", {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264",
                                                                                         "Crf": "28"}},
                                 "DigitalWatermark": {**MARK, "Message": "ci-jobs_42"}, "Output": OUT}, source)
    assert done.result.data is not None and done.result.data["State"] == "Success"
    assert extract(process, done.path())["Message"] == "ci-jobs_42"


@pytest.mark.parametrize("seed", range(20))
def test_unmarked_clips_report_no_watermark(process: Run, tmp_path: Path, seed: int) -> None:
    path = P.write(tmp_path / f"{seed}.mp4", P.frames(192, 144, 10, step=seed % 4, seed=seed + 10), crf=23)
    assert extract(process, path) == {"Type": "Text", "Version": "V1", "Message": "", "State": "Failed"}


def test_ignore_error_lets_an_unmarkable_job_go_on(process: Run, tmp_path: Path) -> None:
    tiny = P.write(tmp_path / "tiny.mp4", P.frames(64, 48, 2))
    with pytest.raises(JobFailed, match="cannot be embedded"):
        process("DigitalWatermark", {"DigitalWatermark": MARK, "Output": OUT}, tiny)
    done = process("DigitalWatermark", {"DigitalWatermark": {**MARK, "IgnoreError": "true"}, "Output": OUT}, tiny)
    assert done.result.data is not None and done.result.data["State"] == "Failed"


@pytest.mark.parametrize(("mark", "message"), [
    ({**MARK, "Message": "x" * 65}, "at most 64"),
    ({**MARK, "Message": "水" * 22}, "66 UTF-8 bytes: ci-jobs embeds at most 64"),
    ({**MARK, "Message": "a b"}, "Message must be"),
    ({**MARK, "Version": "V2"}, "Version V2 must be one of V1"),
    ({k: v for k, v in MARK.items() if k != "Type"}, "Type is required"),
])
def test_refusals_name_the_parameter(process: Run, source: str, mark: dict[str, str], message: str) -> None:
    with pytest.raises(JobFailed, match=message):
        process("DigitalWatermark", {"DigitalWatermark": mark, "Output": OUT}, source)


@pytest.mark.parametrize(("params", "message"), [
    ({"Type": "Image", "Version": "V1"}, "Type Image must be one of Text"),
    ({"Type": "Text", "Version": "V2"}, "Version V2 must be one of V1"),
    ({"Version": "V1"}, "Type is required"),
    ({"Type": "Text"}, "Version is required"),
])
def test_extraction_refusals_name_the_parameter(process: Run, source: str, params: dict[str, str],
                                                message: str) -> None:
    with pytest.raises(JobFailed, match=message):
        process("ExtractDigitalWatermark", {"ExtractDigitalWatermark": params}, source)

"""VideoTag on clips made at test time: a real face (boxes in the right seconds, IoU >= 0.5), words drawn
with the shipped fonts, Tts speech, shots and technical tags; and nothing but technical tags on colour bars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ci_jobs.errors import InvalidArgument, JobFailed
from ci_jobs.media import videotag, vision
from ci_jobs.media.videotag import iou, keywords, unjoin
from ci_jobs.tags import check_operation

from . import pictures as P
from . import videotag_clips as V
from .conftest import Outcome, make_clip

pytest.importorskip("cv2", reason="the vision extra is not installed: pip install 'ci-jobs[vision]'")
pytest.importorskip("rapidocr_onnxruntime", reason="the vision extra is not installed: pip install 'ci-jobs[vision]'")
pytest.importorskip("skimage", reason="scikit-image (the test extra) brings the face picture")

Run = Callable[..., Outcome]
OP = {"VideoTag": {"Scenario": "Stream"}}
WORDS = "Harbour Festival Tickets"


def stream_data(process: Run, path: str) -> dict[str, Any]:
    done = process("VideoTag", OP, path)
    assert done.result.files == () and done.result.data is not None
    data = done.result.data["StreamData"]
    assert (data["SubErrCode"], data["SubErrMsg"]) == ("0", "ok")
    return dict(data["Data"])


def box(item: dict[str, Any]) -> tuple[int, int, int, int]:
    b = item["BBox"]
    return int(b["X1"]), int(b["Y1"]), int(b["X2"]), int(b["Y2"])


def classes(data: dict[str, Any], cls: str) -> dict[str, float]:
    return {t["Tag"]: float(t["Confidence"]) for t in data["Tags"] if t["TagCls"] == cls}


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, V.Truth]:
    path = tmp_path_factory.mktemp("vt") / "face.mp4"
    return str(path), V.make(path, words=WORDS)


def test_the_face_is_one_person_boxed_in_the_right_seconds(process: Run, face_clip: tuple[str, V.Truth]) -> None:
    path, truth = face_clip
    data = stream_data(process, path)
    people = data["PersonTags"]
    people = people if isinstance(people, list) else [people]
    assert [p["Name"] for p in people] == ["person-1"]
    person = people[0]
    seconds = {round(float(d["TimeStamp"])): d for d in person["DetailPerSecond"]}
    assert set(seconds) == set(truth.boxes) == {1, 2, 3}
    assert person["Count"] == "3"
    for second, detail in seconds.items():
        assert iou(box(detail), truth.boxes[second]) >= 0.5, (second, box(detail), truth.boxes[second])
        assert float(detail["Confidence"]) >= 0.8
    assert float(person["Confidence"]) >= 0.8


def test_the_drawn_words_are_tags_and_no_speech_is_made_up(process: Run, face_clip: tuple[str, V.Truth]) -> None:
    path, truth = face_clip
    data = stream_data(process, path)
    text = classes(data, "OnScreenText")
    assert set(text) == set(truth.words), text
    assert min(text.values()) >= 0.8
    assert classes(data, "Speech") == {}  # the sound is silence
    # a face in 3 of 6 seconds but no voice: no talking head
    assert "talking-head" not in classes(data, "Technical")


def test_colour_bars_carry_technical_tags_only(process: Run, tmp_path: Path) -> None:
    for pattern in ("smptebars", "smptehdbars", "rgbtestsrc"):
        clip = make_clip(tmp_path / f"{pattern}.mp4", 320, 240, 3.0, pattern=pattern)  # with a 440 Hz tone
        data = stream_data(process, clip)
        assert {t["TagCls"] for t in data["Tags"]} == {"Technical"}, (pattern, data["Tags"])
        assert classes(data, "Technical") == {"static": 1.0}
        assert "PersonTags" not in data and "ObjectTags" not in data and "ActionTags" not in data
        (shot,) = data["PlaceTags"] if isinstance(data["PlaceTags"], list) else [data["PlaceTags"]]
        assert (shot["StartIndex"], shot["EndIndex"], shot["StartTime"], shot["EndTime"]) == ("0", "74", "0.000",
                                                                                              "3.000")


def test_shots_dark_and_high_motion(process: Run, tmp_path: Path) -> None:
    fps = 10
    calm = P.frames(192, 144, 2 * fps, step=1, seed=2)
    fast = P.frames(192, 144, 2 * fps, step=8, seed=5)
    dark = [(f.astype(np.float32) * 0.12).astype(np.uint8) for f in P.frames(192, 144, 2 * fps, step=1, seed=8)]
    path = tmp_path / "shots.mp4"
    V.write(path, calm + fast + dark, fps, None)
    data = stream_data(process, str(path))
    shots = data["PlaceTags"]
    assert [(s["StartIndex"], s["EndIndex"]) for s in shots] == [("0", "19"), ("20", "39"), ("40", "59")]
    assert [(s["StartTime"], s["EndTime"]) for s in shots] == [("0.000", "2.000"), ("2.000", "4.000"),
                                                               ("4.000", "6.000")]
    per_shot = [{t["Tag"] for t in s.get("Tags", [])} for s in shots]
    assert per_shot == [set(), {"high-motion"}, {"dark", "static"}]  # little changes in the dark
    assert classes(data, "Technical") == {}  # each holds for a third of the clip only
    assert "PersonTags" not in data and classes(data, "OnScreenText") == {}


def test_the_spoken_keywords_are_tags(process: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("faster_whisper", reason="the speech extra is not installed: pip install 'ci-jobs[speech]'")
    pytest.importorskip("hibari", reason="the speech extra is not installed: pip install 'ci-jobs[speech]'")
    said = "The museum opens tomorrow morning with a painting exhibition."
    path = tmp_path / "talk.mp4"
    truth = V.make(path, seconds=6, face=(0, 6), speech=V.spoken(said))
    data = stream_data(process, str(path))
    speech = classes(data, "Speech")
    expected = {"museum", "opens", "tomorrow", "morning", "painting", "exhibition"}
    assert len(expected & set(speech)) >= 5, speech
    assert set(speech) <= expected | {"paintings", "exhibitions"}, speech  # nothing made up
    # a face the whole clip, voice in its first ~4 s: a talking head in most seconds
    head = classes(data, "Technical").get("talking-head", 0.0)
    assert head >= 0.5, data["Tags"]
    assert len(truth.boxes) == 6
    # without the speech extra: no Speech tags, the voice is told by audio energy instead
    monkeypatch.setattr(videotag, "speech_extra", lambda: False)
    plain = stream_data(process, str(path))
    assert classes(plain, "Speech") == {}
    assert classes(plain, "Technical").get("talking-head", 0.0) >= 0.5
    assert classes(plain, "OnScreenText") == classes(data, "OnScreenText")


def test_keywords_drop_stop_words_digits_and_single_letters() -> None:
    assert keywords("The 2026 Harbour-Festival: a day of music") == ["Harbour-Festival", "day", "music"]
    assert keywords("欢迎来到 北京 X 9") == ["欢迎来到", "北京"]
    assert unjoin("HarbourFestival") == ["Harbour", "Festival"]
    assert unjoin("McDonald") == ["McDonald"] and unjoin("iPhone") == ["iPhone"] and unjoin("Tickets") == ["Tickets"]


@pytest.mark.parametrize(("params", "named"), [
    ({}, "Request.Operation.VideoTag.Scenario is required"),
    ({"Scenario": "ShortVideo"}, "Request.Operation.VideoTag.Scenario ShortVideo"),
    ({"Scenario": "Movie"}, "Request.Operation.VideoTag.Scenario Movie must be Stream"),
])
def test_refusals_name_the_element(params: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_operation("VideoTag", {"VideoTag": params})
    assert named in err.value.message


def test_a_missing_extra_names_it() -> None:
    with pytest.raises(JobFailed) as err:
        vision.need("ci_jobs_no_such_module", "VideoTag")
    assert "pip install 'ci-jobs[vision]'" in err.value.message


def test_an_input_without_video_fails_clearly(process: Run, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.m4a", video=False, container="mp4")
    with pytest.raises(JobFailed) as err:
        process("VideoTag", OP, clip)
    assert "no video stream to tag" in err.value.message


def test_two_faces_at_once_are_two_people(process: Run, tmp_path: Path) -> None:
    fps, size = 10, 110
    head = np.asarray(Image.fromarray(V.astronaut()[15:215, 125:325]).resize((size, size)))
    k = size / 200
    places = ((15, 40), (190, 70))  # left and right, still
    pictures = []
    for picture in P.frames(320, 240, 3 * fps, step=0.5, seed=4):
        picture = picture.copy()
        for x, y in places:
            picture[y:y + size, x:x + size] = head
        pictures.append(picture)
    path = tmp_path / "two.mp4"
    V.write(path, pictures, fps, None)
    data = stream_data(process, str(path))
    people = data["PersonTags"]
    assert [p["Name"] for p in people] == ["person-1", "person-2"]
    truths = [(x + round((V.FACE[0] - 125) * k), y + round((V.FACE[1] - 15) * k),
               x + round((V.FACE[2] - 125) * k), y + round((V.FACE[3] - 15) * k)) for x, y in places]
    matched = set()
    for person in people:
        details = person["DetailPerSecond"]
        assert [round(float(d["TimeStamp"])) for d in details] == [0, 1, 2]
        which = {max(range(2), key=lambda i: iou(box(d), truths[i])) for d in details}
        assert len(which) == 1  # one person stays one face
        assert all(iou(box(d), truths[next(iter(which))]) >= 0.5 for d in details)
        matched |= which
    assert matched == {0, 1}

"""`make bench` (issue 16): VideoTag's seconds of processing per minute of 720p, and how right its
confident tags are.

1. Speed: a 720p 25 fps clip (the astronaut face in its first half, three drawn words, Tts speech over
   its first sentences) is tagged in-process as a worker runs it (`dispatch.run`), with the speech extra
   when it imports (Whisper is most of the cost) and once more without it (speech tags off); model
   loading excluded (a warm worker), figures scaled to one minute.
2. Calibration: CLIPS small clips (320x240, 6 s) vary the face's size (40-150 px) and place, the
   background, the words drawn (10-32 px, on a dark band or straight on the texture, title, lower and
   upper case), the H.264 CRF (18, 30, 38) and the sentence spoken. Each face second, on-screen word and spoken word
   reported at Confidence >= 0.8 is checked against what the clip holds: a face second is right when its
   box overlaps the drawn face's box with IoU >= 0.5 in that second, a word when it was drawn (or said).
   Technical tags are shares of seconds, not probabilities, and are not counted.

Writes bench/results/videotag.json.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs import tags  # noqa: E402
from ci_jobs.engine.dispatch import run  # noqa: E402
from ci_jobs.media import Task, videotag  # noqa: E402
from ci_jobs.media.videotag import iou, keywords  # noqa: E402
from tests.media import videotag_clips as V  # noqa: E402

HD_SECONDS = 20
CLIPS = 16
TIMES: list[float] = []  # CPU seconds (all threads) of each run
RESULTS = ROOT / "bench" / "results" / "videotag.json"
SENTENCES = ("The museum opens tomorrow morning with a painting exhibition.",
             "Our flight was delayed because of the storm.",
             "My sister bought a new bicycle last weekend.",
             "The children played football in the park.",
             "This coffee tastes better with a little milk.",
             "We will meet in the library after lunch.")
WORDS = ("Harbour Festival Tickets", "Grand Opening Today", "winter sale", "Mountain Railway Station",
         "fresh bread daily", "Concert Tonight", "LIBRARY HOURS", "Ocean Adventure")


def tag(path: str, tmp: Path) -> tuple[dict[str, Any], float]:
    op = tags.parse("VideoTag", {"VideoTag": {"Scenario": "Stream"}})
    out = Path(tempfile.mkdtemp(dir=tmp))
    start, cpu = time.perf_counter(), time.process_time()
    result = run(Task("VideoTag", op, (path,), str(out)), lambda f: None)
    assert result.data is not None
    TIMES.append(time.process_time() - cpu)
    return result.data["StreamData"]["Data"], time.perf_counter() - start


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def speech_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("faster_whisper", "hibari"))


def main() -> None:
    speech = speech_available()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        said = V.spoken(" ".join(SENTENCES[:3])) if speech else None
        hd = tmp / "720p.mp4"
        V.make(hd, w=1280, h=720, fps=25, seconds=HD_SECONDS, face=(0, HD_SECONDS // 2), face_size=420,
               words=WORDS[0], text=(2, HD_SECONDS), text_size=48, speech=said)
        warm = tmp / "warm.mp4"
        V.make(warm, seconds=2, speech=said)
        tag(str(warm), tmp)  # load the models once, as a warm worker has them
        _, with_speech = tag(str(hd), tmp)
        cpu_with = TIMES[-1]
        with mock.patch.object(videotag, "speech_extra", lambda: False):
            _, without = tag(str(hd), tmp)
        k = 60 / HD_SECONDS
        per_minute = {"with_speech": with_speech * k if speech else None, "without_speech": without * k,
                      "cpu_with_speech": cpu_with * k if speech else None, "cpu_without_speech": TIMES[-1] * k}
        counts = calibrate(tmp, speech)
    RESULTS.write_text(json.dumps({"hd_seconds": HD_SECONDS, "seconds_per_minute_720p": per_minute,
                                   "confident_tags": counts}, indent=2) + "\n", encoding="utf-8")
    print(f"VideoTag, in-process driver, 720p 25 fps {HD_SECONDS} s clip scaled to a minute:")
    if speech:
        print(f"  {per_minute['with_speech']:.1f} s per minute of 720p (faces, text, shots, speech); "
              f"CPU {per_minute['cpu_with_speech']:.1f} s")
    print(f"  {per_minute['without_speech']:.1f} s per minute of 720p without the speech extra; "
          f"CPU {per_minute['cpu_without_speech']:.1f} s")
    print(f"Tags at Confidence >= 0.8 on {CLIPS} test clips: right / reported, and truth found / truth:")
    for kind, c in counts.items():
        share = f"{100 * c['right'] / c['reported']:.1f} %" if c["reported"] else "-"
        print(f"  {kind:13s} {c['right']}/{c['reported']} ({share}); found {c['truth_found']}/{c['truth']}")


def calibrate(tmp: Path, speech: bool) -> dict[str, dict[str, int]]:
    counts = {"face-seconds": [0, 0], "OnScreenText": [0, 0], "Speech": [0, 0]}
    found = {"face-seconds": [0, 0], "OnScreenText": [0, 0], "Speech": [0, 0]}  # truth items reported >= 0.8
    for i in range(CLIPS):
        size = (40, 60, 90, 120, 150)[i % 5]
        at = ((10 + 17 * i) % (320 - size - 30), (5 + 23 * i) % (240 - size - 50))
        words = WORDS[i % len(WORDS)]
        sentence = SENTENCES[i % len(SENTENCES)] if speech else ""
        path = tmp / f"c{i}.mp4"
        truth = V.make(path, seed=20 + i, face=(i % 3, 4 + i % 3), face_size=size, face_at=at, words=words,
                       text=(1, 6), text_size=(10, 12, 14, 16, 20, 24, 28, 32)[i % 8], band=i % 3 != 2,
                       crf=(18, 30, 38)[i % 3], speech=V.spoken(sentence) if sentence else None)
        data, _ = tag(str(path), tmp)
        hits: set[int] = set()
        for person in listed(data.get("PersonTags")):
            for d in listed(person["DetailPerSecond"]):
                if float(d["Confidence"]) < 0.8:
                    continue
                b = d["BBox"]
                box = (int(b["X1"]), int(b["Y1"]), int(b["X2"]), int(b["Y2"]))
                second = round(float(d["TimeStamp"]))
                counts["face-seconds"][1] += 1
                right = second in truth.boxes and iou(box, truth.boxes[second]) >= 0.5
                counts["face-seconds"][0] += right
                if right:
                    hits.add(second)
        found["face-seconds"][0] += len(hits)
        found["face-seconds"][1] += len(truth.boxes)
        drawn = {w.lower() for w in keywords(words)}
        spoken = {w.lower() for w in keywords(sentence)}
        confident = {(t["TagCls"], t["Tag"].lower()) for t in listed(data.get("Tags"))
                     if t["TagCls"] in ("OnScreenText", "Speech") and float(t["Confidence"]) >= 0.8}
        for cls, truth_words in (("OnScreenText", drawn), ("Speech", spoken)):
            mine = {w for c, w in confident if c == cls}
            counts[cls][0] += len(mine & truth_words)
            counts[cls][1] += len(mine)
            found[cls][0] += len(mine & truth_words)
            found[cls][1] += len(truth_words)
    return {k: {"right": v[0], "reported": v[1], "truth_found": found[k][0], "truth": found[k][1]}
            for k, v in counts.items()}


if __name__ == "__main__":
    main()

"""Speech Tags through the official SDK on a live server: Tts with no Input, then the SDK's legacy ASR
methods (ci_create_asr_template, ci_create_asr_job, ci_get_asr_job, ci_list_asr_jobs) on its output."""

from __future__ import annotations

import time
from typing import Any

import pytest
from qcloud_cos import CosS3Client

from .conftest import BUCKET, REGION, wait_job

pytest.importorskip("faster_whisper", reason="the speech extra is not installed: pip install 'ci-jobs[speech]'")
TEXT = "Please close the window before you go to bed."


def wait_asr(client: CosS3Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        detail = client.ci_get_asr_job(Bucket=BUCKET, JobID=job_id)["JobsDetail"]
        detail = detail[0] if isinstance(detail, list) else detail
        if detail["State"] in ("Success", "Failed", "Cancel") or time.monotonic() > deadline:
            return dict(detail)
        time.sleep(0.2)


def test_tts_then_asr_jobs(client: CosS3Client) -> None:
    tts = client.ci_create_media_jobs(Bucket=BUCKET, Jobs={
        "Tag": "Tts", "Operation": {
            "TtsTpl": {"Mode": "Sync", "Codec": "wav", "VoiceType": "WeRose"},
            "TtsConfig": {"InputType": "Text", "Input": TEXT},
            "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "speech/tts.${ext}"}}})["JobsDetail"][0]
    done = wait_job(client, tts["JobId"], timeout=120)
    assert done["State"] == "Success", done
    assert done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"] == "speech/tts.wav"

    template = client.ci_create_asr_template(Bucket=BUCKET, Name="asr-en", EngineModelType="16k_en", ChannelNum=1,
                                             ResTextFormat=2, OutputFileType="srt")["Template"]
    assert template["Tag"] == "SpeechRecognition"
    job = client.ci_create_asr_job(Bucket=BUCKET, OutputBucket=BUCKET, OutputRegion=REGION,
                                   OutputObject="speech/asr.${ext}", InputObject="speech/tts.wav",
                                   TemplateId=template["TemplateId"])["JobsDetail"]
    job = job[0] if isinstance(job, list) else job
    assert job["JobId"].startswith("s") and len(job["JobId"]) == 33
    done = wait_asr(client, job["JobId"])
    assert done["State"] == "Success", done
    result = done["Operation"]["SpeechRecognitionResult"]
    assert "close the window" in result["Result"].lower()
    assert float(result["AudioTime"]) > 1
    srt = client.get_object(Bucket=BUCKET, Key="speech/asr.srt")["Body"].get_raw_stream().read().decode()
    assert srt.startswith("1\n00:00:0") and "window" in srt.lower()

    listed = client.ci_list_asr_jobs(Bucket=BUCKET)["JobsDetail"]
    listed = listed if isinstance(listed, list) else [listed]
    assert job["JobId"] in [j["JobId"] for j in listed]
    assert all(j["Tag"] == "SpeechRecognition" for j in listed)


def test_unsupported_engine_refused(client: CosS3Client) -> None:
    from qcloud_cos.cos_exception import CosServiceError
    with pytest.raises(CosServiceError) as err:
        client.ci_create_asr_job(Bucket=BUCKET, OutputBucket=BUCKET, OutputRegion=REGION, OutputObject="x.txt",
                                 InputObject="speech/tts.wav", SpeechRecognition={"EngineModelType": "16k_ca",
                                                                                  "ChannelNum": "1"})
    assert "16k_ca is not supported" in err.value.get_error_msg()

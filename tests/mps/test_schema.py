"""The request models ci-jobs reads list exactly the SDK's fields, so names cannot drift."""

from __future__ import annotations

import pytest
from tencentcloud.mps.v20190612 import models

from ci_jobs.protocols.mps import schema, schema_templates
from ci_jobs.protocols.mps.errors import InvalidParameter, InvalidParameterValue, UnknownParameter


@pytest.mark.parametrize("model", schema.MODELS, ids=lambda m: m.name)
def test_fields_are_the_sdks(model: schema.Model) -> None:
    sdk = [name[1:] for name in vars(getattr(models, model.name)())]
    assert sorted(model.fields) == sorted(sdk)


def test_read_refuses_unknown_not_yet_and_mistyped() -> None:
    with pytest.raises(UnknownParameter, match="InputInfo.Colour"):
        schema.read({"InputInfo": {"Colour": 1}}, schema.PROCESS_MEDIA, "")
    with pytest.raises(InvalidParameterValue, match="AiRecognitionTask"):
        schema.read({"AiRecognitionTask": {}}, schema.PROCESS_MEDIA, "")
    with pytest.raises(InvalidParameter, match=r"TranscodeTaskSet\[0\].Definition"):
        schema.read({"TranscodeTaskSet": [{"Definition": 1.5}]}, schema.MEDIA_PROCESS_TASK, "")
    assert schema.read({"TranscodeTaskSet": [{"Definition": "30"}]}, schema.MEDIA_PROCESS_TASK, "") == {
        "TranscodeTaskSet": [{"Definition": 30}]}


@pytest.mark.parametrize("model", schema_templates.MODELS, ids=lambda m: m.name)
def test_template_fields_are_the_sdks(model: schema.Model) -> None:
    sdk = [name[1:] for name in vars(getattr(models, model.name)())]
    assert sorted(model.fields) == sorted(sdk)


def test_read_keeps_types_exact_on_the_common_path() -> None:
    """Strings and ints pass as they are; a bool is no int, a number no string, and big ints stay exact."""
    with pytest.raises(InvalidParameter, match="TasksPriority must be a number"):
        schema.read({"TasksPriority": True}, schema.PROCESS_MEDIA, "")
    with pytest.raises(InvalidParameter, match="OutputDir must be a string"):
        schema.read({"OutputDir": 7}, schema.PROCESS_MEDIA, "")
    with pytest.raises(InvalidParameter, match="SessionContext must be a string"):
        schema.read({"SessionContext": ["x"]}, schema.PROCESS_MEDIA, "")
    big = 2**60 + 1
    assert schema.read({"TasksPriority": big, "OutputDir": "/o/", "SessionId": None}, schema.PROCESS_MEDIA,
                       "") == {"TasksPriority": big, "OutputDir": "/o/"}

"""Which segments the console's DASH playback reads from a manifest (app/playback.dash_tracks).

The browser test plays a real DASH transcode; these cover the other manifest shapes and the refusals.
"""

from __future__ import annotations

import pytest

from ci_jobs.app.playback import dash_tracks
from ci_jobs.errors import InvalidArgument

NS = 'xmlns="urn:mpeg:dash:schema:mpd:2011"'


def mpd(period: str, top: str = 'type="static" mediaPresentationDuration="PT2.5S"') -> bytes:
    return f'<?xml version="1.0"?><MPD {NS} {top}><Period>{period}</Period></MPD>'.encode()


def test_a_timeline_template_gives_init_then_numbered_segments_per_track() -> None:
    body = mpd('<AdaptationSet contentType="audio"><Representation id="a1" bandwidth="96000">'
               '<SegmentTemplate initialization="i-$RepresentationID$.m4s" media="a-$Time$.m4s" timescale="1000">'
               '<SegmentTimeline><S t="0" d="1000" r="1"/><S d="500"/></SegmentTimeline></SegmentTemplate>'
               '</Representation></AdaptationSet>'
               '<AdaptationSet contentType="video"><SegmentTemplate initialization="v/init-$RepresentationID$.mp4"'
               ' media="v/$RepresentationID$-$Number%03d$-$Bandwidth$.m4s" startNumber="7"><SegmentTimeline>'
               '<S t="0" d="90000" r="2"/></SegmentTimeline></SegmentTemplate>'
               '<Representation id="hd" bandwidth="800000"/><Representation id="sd" bandwidth="300000"/>'
               '</AdaptationSet>')
    video, audio = dash_tracks(body)  # video first, the first Representation of each set
    assert video == ["v/init-hd.mp4", "v/hd-007-800000.m4s", "v/hd-008-800000.m4s", "v/hd-009-800000.m4s"]
    assert audio == ["i-a1.m4s", "a-0.m4s", "a-1000.m4s", "a-2000.m4s"]
    every = dash_tracks(body, every=True)  # for the zip: each Representation of each set, in manifest order
    assert every == [audio, video, [n.replace("hd-", "sd-").replace("init-hd", "init-sd").replace("800000", "300000")
                                    for n in video]]


def test_a_fixed_duration_template_counts_segments_from_the_length() -> None:
    body = mpd('<AdaptationSet mimeType="video/mp4"><Representation id="0"><BaseURL>rung0/</BaseURL>'
               '<SegmentTemplate media="s$Number$.m4s" initialization="init.mp4" duration="1" timescale="1"/>'
               '</Representation></AdaptationSet>')
    assert dash_tracks(body) == [["rung0/init.mp4", "rung0/s1.m4s", "rung0/s2.m4s", "rung0/s3.m4s"]]


def test_a_segment_list_and_a_single_file() -> None:
    listed = mpd('<AdaptationSet contentType="video"><Representation id="0"><SegmentList>'
                 '<Initialization sourceURL="init.mp4"/><SegmentURL media="one.m4s"/><SegmentURL media="two.m4s"/>'
                 '</SegmentList></Representation></AdaptationSet>')
    assert dash_tracks(listed) == [["init.mp4", "one.m4s", "two.m4s"]]
    single = mpd('<AdaptationSet contentType="audio"><Representation id="0"><BaseURL>whole.mp4</BaseURL>'
                 '</Representation></AdaptationSet>')
    assert dash_tracks(single) == [["whole.mp4"]]


@pytest.mark.parametrize(("body", "message"), [
    (mpd('<AdaptationSet contentType="video"><Representation id="0"><SegmentList>'
         '<SegmentURL media="https://elsewhere.example/x.m4s"/></SegmentList></Representation></AdaptationSet>'),
     "only relative segment names are played"),
    (mpd('<AdaptationSet contentType="video"><Representation id="0"><SegmentList>'
         '<SegmentURL media="../../secret.m4s"/></SegmentList></Representation></AdaptationSet>'),
     "only relative segment names are played"),
    (mpd("", top='type="dynamic"'), "only static (on-demand) DASH manifests are played"),
    (mpd('<AdaptationSet contentType="text"><Representation id="0"/></AdaptationSet>'),
     "no video or audio Representation"),
    (mpd('<AdaptationSet contentType="video"><Representation id="0"><SegmentTemplate media="$Number$.m4s"/>'
         '</Representation></AdaptationSet>', top='type="static"'), "needs a SegmentTimeline, or a duration"),
    (b"<html>not a manifest</html>", "no MPD root"),
    (b"<MPD", "cannot be read"),
    (b'<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY x "y">]><MPD/>', "cannot be read"),
])
def test_what_cannot_be_played_is_refused_clearly(body: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        dash_tracks(body)
    assert message in caught.value.message

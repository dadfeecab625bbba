"""Monotonic's integer rescaling is av_rescale_q's rounding (to the nearest, halves away from zero)."""

from __future__ import annotations

import math
from fractions import Fraction

import av
from hypothesis import given
from hypothesis import strategies as st

from ci_jobs.media.common import Monotonic, _rescale_ticks

BASES = st.sampled_from([Fraction(1, 90000), Fraction(1, 1000), Fraction(1, 44100), Fraction(1001, 30000),
                         Fraction(1, 12800), Fraction(1, 48000)])


def _exact(value: int, src: Fraction, dst: Fraction) -> int:
    exact = value * src / dst
    return int(math.floor(exact + Fraction(1, 2))) if exact >= 0 else -int(math.floor(-exact + Fraction(1, 2)))


@given(st.integers(-10**12, 10**12), BASES, BASES)
def test_rescale_ticks_rounds_as_av_rescale_q(value: int, src: Fraction, dst: Fraction) -> None:
    num, den = src.numerator * dst.denominator, src.denominator * dst.numerator
    assert _rescale_ticks(value, num, den) == _exact(value, src, dst)


class _Stream:
    time_base: Fraction = Fraction(1, 1000)


def test_a_time_base_chosen_by_the_muxer_later_keeps_the_dts_increasing() -> None:
    stream = _Stream()
    timing = Monotonic(stream)  # type: ignore[arg-type]
    packet = av.Packet(b"x")
    packet.time_base, packet.pts, packet.dts = Fraction(1, 90000), 90 * 40, 90 * 40
    timing.fix(packet)
    assert (packet.dts, packet.time_base) == (40, Fraction(1, 1000))
    stream.time_base = Fraction(1, 90000)  # as mpegts does once its header is written
    packet = av.Packet(b"x")
    packet.time_base, packet.pts, packet.dts = Fraction(1, 90000), 90 * 20, 90 * 20  # goes back
    timing.fix(packet)
    assert packet.dts == 40 * 90 + 1 and packet.pts == 40 * 90 + 1

"""Print microseconds per Validator.validate for the example bodies, as sent and reversed.

"reversed" has every element's children in reverse document order: the worst case for the
validator, which then sorts a copy's sequence models before validating again.

Run: .venv/bin/python bench/bench_validation.py [iterations]
"""

from __future__ import annotations

import copy
import sys
import timeit
from pathlib import Path

import xmltodict
from lxml import etree

from ci_jobs import xmlio
from ci_jobs.protocols.ci.validation import Validator

ROOT = Path(__file__).resolve().parent.parent

# what the official Python SDK sends for its own transcode demo (keys in the demo's order)
SDK_DEMO = {
    "Request": {
        "Input": {"Object": "input/demo.mp4"},
        "Tag": "Transcode",
        "Operation": {
            "Output": {"Bucket": "examplebucket-1250000000", "Region": "ap-guangzhou", "Object": "output/demo.mp4"},
            "TemplateId": "t02db40900dc1c43ad9bdbd8acec6075c5",
        },
    }
}


def reversed_children(root: etree._Element) -> etree._Element:
    """A copy of ``root`` with every element's children in reverse order."""
    doc = copy.deepcopy(root)
    for el in list(doc.iter()):  # collect first: reordering while iterating revisits elements
        el[:] = list(el)[::-1]
    return doc


def per_call_us(fn: object, number: int) -> float:
    """Best of five runs, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def main() -> None:
    """Time validate (in document order and reversed) and parse for every example body."""
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    validator = Validator(ROOT / "schemas")
    print(f"{'body':<22}{'as sent':>12}{'reversed':>12}{'parse':>12}   (us per call)")
    bodies = {p.stem: p.read_bytes() for p in sorted((ROOT / "examples" / "jobs").glob("*.xml"))}
    bodies["Transcode (SDK demo)"] = xmltodict.unparse(SDK_DEMO).encode()
    for name, body in bodies.items():
        root = xmlio.parse(body)
        backwards = reversed_children(root)
        validator.validate(backwards)  # must pass before it is timed
        as_sent = per_call_us(lambda r=root: validator.validate(r), number)
        reverse = per_call_us(lambda r=backwards: validator.validate(r), number)
        parse = per_call_us(lambda b=body: xmlio.parse(b), number)
        print(f"{name:<22}{as_sent:>12.1f}{reverse:>12.1f}{parse:>12.1f}")


if __name__ == "__main__":
    main()

"""The wire dialects, one folder each: a route table, its own auth, codec, presenter and error table.

`ci/` is CI's XML job API, `cos/` the COS object API (with `?ci-process=`). They share the COS
signature and the `<Error>` XML shape (`cosfamily.py`, `xmlerrors.py`). A protocol calls `app/` only.
"""

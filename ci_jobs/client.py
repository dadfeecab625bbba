"""`ci-jobs submit | jobs | queues | upload | download`: the CI job and COS object APIs for humans.

Requests go through the official `cos-python-sdk-v5` (the `client` extra), which already signs
every CI/COS call, uploads in parts and reads CI's `<Error>`: the CLI is then one more SDK user,
tested against the same server, rather than a second signer and XML reader to keep in step.
The SDK is imported only when one of these commands runs, so `serve` does not need it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import config, xmlio
from .errors import InvalidArgument

COMMANDS = ("submit", "jobs", "queues", "upload", "download")
DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
FINAL_STATES = ("Success", "Failed", "Cancel")
MISSING_SDK = ("ci-jobs: the client commands need the COS SDK and tqdm: pip install 'ci-jobs[client]' "
               "(missing: {name})")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the client subcommands to the `ci-jobs` parser."""
    common = _common()
    submit = sub.add_parser("submit", parents=[common], help="POST /jobs with a CI job XML body")
    submit.add_argument("body", help="a CI job request XML file (see examples/jobs/), - for stdin")
    submit.add_argument("--wait", action="store_true", help="show progress until the job ends, then its outputs")
    submit.add_argument("--interval", type=float, default=0.5, help="seconds between polls with --wait")
    jobs = sub.add_parser("jobs", help="list, show or cancel jobs").add_subparsers(dest="action", required=True)
    ls = jobs.add_parser("list", parents=[common], help="GET /jobs: one page, newest first")
    ls.add_argument("--tag", required=True, help="the jobs' Tag, e.g. Transcode (CI lists one Tag at a time)")
    ls.add_argument("--queue", help="queue id")
    ls.add_argument("--state", default="All", help="All (default), Submitted, Running, Success, Failed, Cancel")
    ls.add_argument("--size", type=int, default=10, help="jobs per page (default 10)")
    ls.add_argument("--next-token", dest="next_token", default="", help="the NextToken of the previous page")
    for action, text in (("show", "GET /jobs/<id>: the JobsDetail as JSON"), ("cancel", "PUT /jobs/<id>?cancel")):
        jobs.add_parser(action, parents=[common], help=text).add_argument("id", help="job id")
    queues = sub.add_parser("queues", help="list, pause or resume queues").add_subparsers(dest="action",
                                                                                         required=True)
    queues.add_parser("list", parents=[common], help="GET /queue")
    for action in ("pause", "resume"):
        queues.add_parser(action, parents=[common], help=f"{action} a queue").add_argument("id", help="queue id")
    upload = sub.add_parser("upload", parents=[common], help="put a local file into the bucket")
    upload.add_argument("file")
    upload.add_argument("key")
    download = sub.add_parser("download", parents=[common], help="get an object into a file")
    download.add_argument("key")
    download.add_argument("file", nargs="?", help="local path (default: the key's last part; - for stdout)")


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--endpoint", default=os.environ.get("CI_JOBS_ENDPOINT", DEFAULT_ENDPOINT),
                   help=f"the server (env CI_JOBS_ENDPOINT, default {DEFAULT_ENDPOINT})")
    p.add_argument("--bucket", help="bucket <name>-<APPID> (default: the config's first bucket)")
    p.add_argument("--region", help="the bucket's region (default: from the config)")
    p.add_argument("--secret-id", dest="secret_id",
                   help="key (default: env CI_JOBS_SECRET_ID, else the config's first account)")
    p.add_argument("--secret-key", dest="secret_key", help="env CI_JOBS_SECRET_KEY, else the config's")
    p.add_argument("--config", default=os.environ.get("CI_JOBS_CONFIG"),
                   help="the server's TOML file, for the default keys and bucket (env CI_JOBS_CONFIG)")
    return p


def sdk(endpoint: str, secret_id: str, secret_key: str, region: str, retry: int = 1) -> Any:
    """A `CosS3Client` in IP/Port mode for `endpoint` (http(s)://host[:port])."""
    from qcloud_cos import CosConfig, CosS3Client  # noqa: PLC0415 - an optional dependency

    url = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidArgument(f"--endpoint must be http(s)://host[:port], not {endpoint!r}")
    port = url.port or (443 if url.scheme == "https" else 80)
    conf = CosConfig(Region=region, SecretId=secret_id, SecretKey=secret_key, IP=url.hostname, Port=port,
                     Scheme=url.scheme)
    return CosS3Client(conf, retry=retry)


def main(args: argparse.Namespace) -> int:
    """Run one client command; server errors as one line `ci-jobs: <Code>: <Message>`."""
    try:
        import tqdm  # noqa: F401, PLC0415
        from qcloud_cos.cos_exception import CosClientError, CosServiceError  # noqa: PLC0415
    except ImportError as exc:
        print(MISSING_SDK.format(name=exc.name), file=sys.stderr)
        return 2
    quiet = logging.getLogger("qcloud_cos")  # the SDK logs every error body at ERROR: we print one line
    quiet.setLevel(logging.CRITICAL)
    quiet.propagate = False
    command = _COMMANDS[args.command if args.command in ("submit", "upload", "download")
                        else f"{args.command} {args.action}"]
    try:
        return command(_Context(args), args)
    except CosServiceError as exc:
        print(f"ci-jobs: {exc.get_error_code()}: {exc.get_error_msg()}", file=sys.stderr)
    except CosClientError as exc:
        print(f"ci-jobs: cannot reach {args.endpoint}: {exc}", file=sys.stderr)
    return 1


class _Context:
    """The SDK client and bucket of one command, from flags, the environment and the local config."""

    def __init__(self, args: argparse.Namespace) -> None:
        settings = config.load(args.config)
        account = settings.accounts[0] if settings.accounts else None
        buckets = {b.name: b.region for b in settings.buckets}
        first = settings.server.default_bucket or (settings.buckets[0].name if settings.buckets else "")
        self.bucket = args.bucket or first
        if not self.bucket:
            raise InvalidArgument("no bucket: pass --bucket <name>-<APPID>")
        region = args.region or buckets.get(self.bucket) or buckets.get(first) or "ap-guangzhou"
        secret_id = args.secret_id or (account.secret_id if account else "")
        secret_key = args.secret_key or (account.secret_key if account else "")
        if not secret_id or not secret_key:
            raise InvalidArgument("no keys: pass --secret-id/--secret-key or set CI_JOBS_SECRET_ID/CI_JOBS_SECRET_KEY")
        self.client = sdk(args.endpoint, secret_id, secret_key, region)

    def job(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/<id>: its JobsDetail."""
        resp = self.client.ci_get_media_jobs(Bucket=self.bucket, JobIDs=job_id)
        details = resp.get("JobsDetail") or []
        if not details:
            raise InvalidArgument(f"no job {job_id} in {self.bucket}")
        return dict(details[0])


def submit(ctx: _Context, args: argparse.Namespace) -> int:
    """`ci-jobs submit body.xml [--wait]`: the job ids, or with --wait progress then the output keys."""
    body = sys.stdin.buffer.read() if args.body == "-" else _read(args.body)
    root = xmlio.parse(body)
    if root.tag != "Request":
        raise InvalidArgument(f"{args.body}: the root element must be <Request>, not <{root.tag}>")
    resp = ctx.client.ci_create_media_jobs(Bucket=ctx.bucket, Jobs=xmlio.to_dict(root))
    ids = [d["JobId"] for d in resp.get("JobsDetail") or []]
    if not args.wait:
        print("\n".join(ids))
        return 0
    status = 0
    for job_id in ids:
        detail = _watch(ctx, job_id, args.interval)
        if detail["State"] != "Success":
            print(f"ci-jobs: job {job_id} {detail['State']}: {detail.get('Code')}: {detail.get('Message')}",
                  file=sys.stderr)
            status = 1
            continue
        for key in output_keys(detail):
            print(key)
    return status


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path}: {exc.strerror}") from exc


def _watch(ctx: _Context, job_id: str, interval: float) -> dict[str, Any]:
    """Poll the job with a progress bar on stderr until it is Success, Failed or Cancel."""
    from tqdm import tqdm  # noqa: PLC0415

    detail = ctx.job(job_id)
    with tqdm(total=100, desc=f"{job_id} {detail.get('Tag', '')}", unit="%", file=sys.stderr,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}", mininterval=0) as bar:
        while True:
            bar.n = min(100, int(float(detail.get("Progress") or 0)))
            bar.set_postfix_str(detail["State"], refresh=True)
            if detail["State"] in FINAL_STATES:
                return detail
            time.sleep(interval)
            detail = ctx.job(job_id)


def output_keys(detail: dict[str, Any]) -> list[str]:
    """Every ObjectName under the job's MediaResult, in order, once each."""
    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "ObjectName":
                    yield from ([v] if isinstance(v, str) else [x for x in v if isinstance(x, str)])
                else:
                    yield from walk(v)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
    return list(dict.fromkeys(walk((detail.get("Operation") or {}).get("MediaResult"))))


def list_jobs(ctx: _Context, args: argparse.Namespace) -> int:
    """`ci-jobs jobs list`: one line per job, tab-separated."""
    resp = ctx.client.ci_list_media_jobs(Bucket=ctx.bucket, Tag=args.tag, QueueId=args.queue, States=args.state,
                                         Size=args.size, NextToken=args.next_token)
    details = resp.get("JobsDetail") or []
    for d in details if isinstance(details, list) else [details]:
        print("\t".join([d["JobId"], d["Tag"], d["State"], f"{d.get('Progress', '0')}%", d.get("CreationTime", ""),
                         d.get("QueueId", ""), d.get("Code", "")]))
    if resp.get("NextToken"):
        print(f"more: --next-token {resp['NextToken']}", file=sys.stderr)
    return 0


def show_job(ctx: _Context, args: argparse.Namespace) -> int:
    """`ci-jobs jobs show ID`: the JobsDetail as indented JSON."""
    print(json.dumps(ctx.job(args.id), indent=2, ensure_ascii=False))
    return 0


def cancel_job(ctx: _Context, args: argparse.Namespace) -> int:
    """`ci-jobs jobs cancel ID`."""
    ctx.client.ci_cancel_jobs(Bucket=ctx.bucket, JobID=args.id)
    print(f"{args.id} cancelled")
    return 0


def list_queues(ctx: _Context, args: argparse.Namespace) -> int:
    """`ci-jobs queues list`: one line per queue."""
    for q in ctx.client.ci_get_media_queue(Bucket=ctx.bucket, PageSize="100").get("QueueList") or []:
        print("\t".join([q["QueueId"], q["Name"], q["State"], f"max_concurrent={q.get('MaxConcurrent', '')}"]))
    return 0


def _set_queue_state(state: str) -> Callable[[_Context, argparse.Namespace], int]:
    def change(ctx: _Context, args: argparse.Namespace) -> int:
        found = ctx.client.ci_get_media_queue(Bucket=ctx.bucket, QueueIds=args.id).get("QueueList") or []
        if not found:
            raise InvalidArgument(f"no queue {args.id} in {ctx.bucket}")
        q = found[0]
        ctx.client.ci_update_media_queue(Bucket=ctx.bucket, QueueId=args.id, Request={
            "Name": q["Name"], "State": state, "NotifyConfig": q.get("NotifyConfig") or {"State": "Off"}})
        print(f"{args.id} {state}")
        return 0
    change.__doc__ = f"`ci-jobs queues {'pause' if state == 'Paused' else 'resume'} ID`."
    return change


def upload(ctx: _Context, args: argparse.Namespace) -> int:
    """`ci-jobs upload FILE KEY` (in parts when large)."""
    path = Path(args.file)
    if not path.is_file():
        raise InvalidArgument(f"{args.file} is not a file")
    resp = ctx.client.upload_file(Bucket=ctx.bucket, Key=args.key, LocalFilePath=str(path))
    print(f"{args.file} -> {args.key} ({path.stat().st_size} bytes, ETag {resp.get('ETag', '')})")
    return 0


def download(ctx: _Context, args: argparse.Namespace) -> int:
    """`ci-jobs download KEY [FILE]`."""
    target = args.file or args.key.rstrip("/").rsplit("/", 1)[-1]
    resp = ctx.client.get_object(Bucket=ctx.bucket, Key=args.key)
    stream = resp["Body"].get_raw_stream()
    if target == "-":
        shutil.copyfileobj(stream, sys.stdout.buffer)
        return 0
    try:
        fh = open(target, "wb")  # noqa: SIM115 - closed below; only the open's failure is the user's
    except OSError as exc:
        print(f"ci-jobs: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with fh:
        shutil.copyfileobj(stream, fh)
    print(f"{args.key} -> {target} ({Path(target).stat().st_size} bytes)")
    return 0


_COMMANDS: dict[str, Callable[[_Context, argparse.Namespace], int]] = {
    "submit": submit, "upload": upload, "download": download,
    "jobs list": list_jobs, "jobs show": show_job, "jobs cancel": cancel_job,
    "queues list": list_queues, "queues pause": _set_queue_state("Paused"),
    "queues resume": _set_queue_state("Active"),
}

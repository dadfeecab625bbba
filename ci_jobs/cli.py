"""`ci-jobs serve | check-config`: the command line, every flag also an environment variable."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import ipaddress
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from . import __version__, client, config, logs
from .errors import CiJobsError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ci-jobs", description="A self-hosted CI (Cloud Infinite) job server.")
    p.add_argument("--version", action="version", version=f"ci-jobs {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API and the workers")
    serve.add_argument("--config", default=os.environ.get("CI_JOBS_CONFIG"),
                       help="TOML file over the shipped defaults (env CI_JOBS_CONFIG)")
    serve.add_argument("--host", help="listen address (env CI_JOBS_HOST)")
    serve.add_argument("--port", type=int, help="listen port (env CI_JOBS_PORT)")
    serve.add_argument("--data-dir", dest="data_dir", help="store and buckets (env CI_JOBS_DATA_DIR)")
    serve.add_argument("--ephemeral", action="store_true", default=None,
                       help="keep everything in a temporary dir (env CI_JOBS_EPHEMERAL=1)")
    serve.add_argument("--no-workers", dest="workers_enabled", action="store_false", default=None,
                       help="API node only: run no jobs here (env CI_JOBS_WORKERS_ENABLED=0)")
    serve.add_argument("--admin", action="store_true", default=None,
                       help="expose POST /-/reset (env CI_JOBS_ADMIN=1)")
    serve.add_argument("--log-level", default=os.environ.get("CI_JOBS_LOG_LEVEL", "INFO"), type=_level,
                       help=LOG_LEVEL_HELP)
    serve.add_argument("--log-format", default=os.environ.get("CI_JOBS_LOG_FORMAT", "human"), choices=logs.FORMATS,
                       help=LOG_FORMAT_HELP)
    worker = sub.add_parser("worker", help="run a processing node (no HTTP) on a shared store")
    worker.add_argument("--config", default=os.environ.get("CI_JOBS_CONFIG"),
                        help="TOML file over the shipped defaults (env CI_JOBS_CONFIG)")
    worker.add_argument("--data-dir", dest="data_dir", help="scratch space for inputs and outputs")
    worker.add_argument("--log-level", default=os.environ.get("CI_JOBS_LOG_LEVEL", "INFO"), type=_level,
                        help=LOG_LEVEL_HELP)
    worker.add_argument("--log-format", default=os.environ.get("CI_JOBS_LOG_FORMAT", "human"), choices=logs.FORMATS,
                        help=LOG_FORMAT_HELP)
    migrate = sub.add_parser("migrate", help="apply the store's migrations and exit")
    migrate.add_argument("--config", default=os.environ.get("CI_JOBS_CONFIG"))
    migrate.add_argument("--data-dir", dest="data_dir")
    check = sub.add_parser("check-config", help="print the effective settings and exit")
    check.add_argument("--config", default=os.environ.get("CI_JOBS_CONFIG"))
    callbacks = sub.add_parser("callbacks", help="dead letters: callbacks that failed for retry_for_seconds")
    callbacks.add_argument("action", choices=("dead", "resend"), help="dead: list them; resend: send again now")
    callbacks.add_argument("ids", nargs="*", type=int, help="callback ids to resend (resend --all: every one)")
    callbacks.add_argument("--all", action="store_true", help="resend every dead letter")
    callbacks.add_argument("--config", default=os.environ.get("CI_JOBS_CONFIG"))
    callbacks.add_argument("--data-dir", dest="data_dir", help="the server's data dir (embedded store)")
    client.add_commands(sub)
    return p


LOG_LEVEL_HELP = "DEBUG, INFO (default: access lines and job lifecycle), WARNING or ERROR (env CI_JOBS_LOG_LEVEL)"
LOG_FORMAT_HELP = "human (default) or json: one JSON object per line (env CI_JOBS_LOG_FORMAT)"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _level(value: str) -> str:
    if value.upper() not in _LEVELS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(_LEVELS)}")
    return value.upper()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def banner(settings: config.Settings) -> str:
    """What `serve` prints at start: endpoint, demo credentials and an SDK snippet."""
    s = settings.server
    account = settings.accounts[0] if settings.accounts else None
    bucket = settings.buckets[0] if settings.buckets else None
    lines = [f"ci-jobs {__version__} listening on http://{s.host}:{s.port}  (data: {s.data_dir})"]
    if account and bucket:
        key = secret(account.secret_key)
        lines += [
            f"  SecretId={account.secret_id} SecretKey={key} APPID={account.appid}",
            f"  bucket {bucket.name} in {bucket.region}",
            f"  SDK: CosS3Client(CosConfig(Region='{bucket.region}', SecretId='{account.secret_id}', "
            f"SecretKey='{key}', IP='{s.host}', Port={s.port}, Scheme='http'))",
        ]
    how = "a SecretId and SecretKey" + (f", or the console password as APPID {settings.console_account.appid}"
                                         if settings.console_account else "")
    lines.append(f"  console: http://{s.host}:{s.port}/console/  (sign in with {how})")
    return "\n".join(lines)


def secret(key: str) -> str:
    """A SecretKey as it may be printed: the public demo key as is, any other one masked."""
    return key if key == config.DEMO_SECRET_KEY else f"{key[:2]}{'*' * 8} (your configured key)"


def effective(settings: config.Settings) -> str:
    """`check-config`'s view of the settings: every value, secret keys masked."""
    masked = dataclasses.replace(settings, accounts=tuple(
        dataclasses.replace(a, secret_key=secret(a.secret_key)) for a in settings.accounts),
        console=dataclasses.replace(settings.console, password="********" if settings.console.password else ""))
    lines = []
    for table in ("server", "scheduler", "callbacks", "mq", "console"):
        lines.append(f"[{table}]")
        lines += [f"{k} = {v!r}" for k, v in dataclasses.asdict(getattr(masked, table)).items()]
    for a in masked.accounts:
        lines += ["[[accounts]]", f"appid = {a.appid!r}", f"secret_id = {a.secret_id!r}",
                  f"secret_key = {a.secret_key!r}"]
    for b in masked.buckets:
        lines += ["[[buckets]]", f"name = {b.name!r}", f"region = {b.region!r}"]
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted."""
    from aiohttp import web  # noqa: PLC0415 - keep `check-config` light

    from .server import create_app, prepare  # noqa: PLC0415

    logs.setup(args.log_level, args.log_format)
    overrides: dict[str, Any] = {k: getattr(args, k) for k in
                                 ("host", "port", "data_dir", "ephemeral", "workers_enabled", "admin")}
    settings = prepare(config.load(args.config, overrides))
    problem = _data_dir_problem(settings.server.data_dir)
    if problem:
        print(f"ci-jobs: data_dir {settings.server.data_dir}: {problem}", file=sys.stderr)
        return 2
    if (not _is_loopback(settings.server.host) and settings.uses_demo_key
            and not settings.server.allow_public_with_demo_key):
        print(f"refusing to listen on {settings.server.host} with the demo key configured; set your own "
              "[[accounts]] or allow_public_with_demo_key = true", file=sys.stderr)
        return 2
    app = create_app(settings)
    try:
        asyncio.run(_serve_app(app, settings))
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"ci-jobs: cannot listen on {settings.server.host}:{settings.server.port}: the port is already in use "
              "(another ci-jobs?); choose one with --port", file=sys.stderr)
        return 2
    finally:
        if settings.server.ephemeral:
            shutil.rmtree(settings.server.data_dir, ignore_errors=True)
    return 0


def _data_dir_problem(data_dir: str) -> str:
    """Why the data dir cannot hold the store and the buckets ('' when it can): made if missing, then
    written to, before anything else starts."""
    path = Path(data_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".ci-jobs-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"cannot create or write it ({exc.strerror or exc})"
    return ""


async def _serve_app(app: Any, settings: config.Settings) -> None:
    """Serve `app` until SIGINT/SIGTERM, then clean it up (the node's graceful stop).

    The signals only set an event: were they to raise (aiohttp's handle_signals), asyncio.run would
    cancel every task, running jobs included, before the cleanup could give them back.
    """
    from aiohttp import web  # noqa: PLC0415

    from .protocols.serving import runner  # noqa: PLC0415
    from .server import settle_heap  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app_runner = runner(app, access_log=None, handle_signals=False)
    await app_runner.setup()
    try:
        await web.TCPSite(app_runner, settings.server.host, settings.server.port).start()
        settle_heap()
        print(banner(settings), flush=True)
        await stop.wait()
        print("stopping: running jobs get "
              f"{settings.scheduler.stop_grace_seconds:g} s to finish, the rest are given back", flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C ends at once
            loop.remove_signal_handler(sig)
    finally:
        await app_runner.cleanup()


def worker(args: argparse.Namespace) -> int:
    """Run a processing node until SIGTERM/SIGINT."""
    from .server import run_worker, settle_heap  # noqa: PLC0415

    logs.setup(args.log_level, args.log_format)
    settings = config.load(args.config, {"data_dir": args.data_dir})
    if settings.server.store in ("", "sqlite"):
        print("ci-jobs worker needs a shared store: set store = \"postgresql://...\" (the SQLite store belongs "
              "to one `ci-jobs serve` process)", file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        def ready(node: str) -> None:
            settle_heap()
            print(f"ci-jobs worker {node} ready: {settings.worker_count} workers + "
                  f"{settings.scheduler.fast_lane} fast lane", flush=True)

        await run_worker(settings, stop, ready)

    asyncio.run(main())
    return 0


def dead_letters(args: argparse.Namespace) -> int:
    """`ci-jobs callbacks dead|resend`: on the server's own store (the running server delivers resent ones)."""
    from .server import make_store  # noqa: PLC0415
    from .store import DeadLetter  # noqa: PLC0415

    settings = config.load(args.config, {"data_dir": args.data_dir})
    store = make_store(settings, Path(settings.server.data_dir).resolve())

    async def run() -> int:
        await store.open()
        try:
            dead: list[DeadLetter] = []
            while page := await store.dead_callbacks(500, dead[-1].callback.callback_id if dead else 0):
                dead += page
            if args.action == "dead":
                for d in dead:
                    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(d.dead_at))
                    target = d.callback.target.get("url") or d.callback.target.get("type", "")
                    print(f"{d.callback.callback_id}\tjob {d.callback.job_id or '-'}\t{target}\tdead since {when}"
                          f"\tafter {d.callback.attempts} attempts\t{d.last_error}")
                print(f"{len(dead)} dead letter(s)", file=sys.stderr)
                return 0
            wanted = {d.callback.callback_id for d in dead} if args.all else set(args.ids)
            if not wanted:
                print("ci-jobs: name the callback ids to resend, or --all", file=sys.stderr)
                return 2
            missing = [i for i in sorted(wanted) if not await store.resend_callback(i, time.time())]
            print(f"{len(wanted) - len(missing)} callback(s) due again now")
            if missing:
                print(f"ci-jobs: not dead letters: {', '.join(map(str, missing))}", file=sys.stderr)
                return 1
            return 0
        finally:
            await store.close()
    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ci-jobs` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "worker":
            return worker(args)
        if args.command == "callbacks":
            return dead_letters(args)
        if args.command in client.COMMANDS:
            return client.main(args)
        if args.command == "migrate":
            from .server import migrate  # noqa: PLC0415

            asyncio.run(migrate(config.load(args.config, {"data_dir": args.data_dir})))
            print("migrations applied")
            return 0
        settings = config.load(args.config)
        print(effective(settings))
        return 0
    except CiJobsError as exc:
        print(f"ci-jobs: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

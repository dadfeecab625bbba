"""Settings: the shipped TOML defaults, a user's TOML file, environment variables and flags, in that order."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import InvalidArgument
from .outbound import Policy

DEFAULTS = Path(__file__).with_name("defaults.toml")
ENV_PREFIX = "CI_JOBS_"
DEMO_SECRET_KEY = "EXAMPLEKEY"


@dataclass(frozen=True)
class Account:
    """One API key pair and the APPID whose buckets it may use."""

    appid: str
    secret_id: str
    secret_key: str


@dataclass(frozen=True)
class Bucket:
    """A configured bucket (`name` includes the APPID suffix)."""

    name: str
    region: str

    @property
    def appid(self) -> str:
        """The APPID: the numeric suffix of the bucket name."""
        return self.name.rsplit("-", 1)[1]


@dataclass(frozen=True)
class ServerSettings:
    """The [server] table."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "./var"
    allow_public_with_demo_key: bool = False
    ci_paths_on_cos_host: bool = True
    default_bucket: str = ""
    admin: bool = False
    queues_dir: str = "queues"
    max_skew_seconds: int = 900
    store: str = "sqlite"
    storage: str = "local"
    ephemeral: bool = False
    workers_enabled: bool = True
    migrate_on_start: bool = True


@dataclass(frozen=True)
class SchedulerSettings:
    """The [scheduler] table."""

    workers: int = 0
    fast_lane: int = 1
    lease_seconds: float = 30.0
    max_attempts: int = 3
    default_max_concurrent: int = 10
    heartbeat_seconds: float = 1.0
    poll_seconds: float = 2.0
    stop_grace_seconds: float = 20.0


@dataclass(frozen=True)
class CallbackSettings:
    """The [callbacks] table."""

    timeout: float = 5.0
    max_attempts: int = 12
    allow_link_local: bool = False
    allow_loopback: bool = False
    retry_base: float = 2.0
    poll_seconds: float = 1.0

    @property
    def policy(self) -> Policy:
        """Which addresses callbacks may reach."""
        return Policy(allow_loopback=self.allow_loopback, allow_link_local=self.allow_link_local)


@dataclass(frozen=True)
class MqSettings:
    """The [mq] table: RabbitMQ brokers for TDMQ callbacks, by CI MqRegion (sh, bj, gz, cd, hk...)."""

    url: str = ""                                   # broker for regions not listed in `regions`
    regions: tuple[tuple[str, str], ...] = ()       # (MqRegion, amqp URL) pairs

    def broker(self, region: str) -> str:
        """The amqp URL for a CI MqRegion ('' when none is configured)."""
        for name, url in self.regions:
            if name == region:
                return url
        return self.url


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build a server."""

    server: ServerSettings = field(default_factory=ServerSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    mq: MqSettings = field(default_factory=MqSettings)
    accounts: tuple[Account, ...] = ()
    buckets: tuple[Bucket, ...] = ()

    @property
    def worker_count(self) -> int:
        """Worker processes for long jobs (0 in the config means one per core)."""
        return self.scheduler.workers or (os.cpu_count() or 1)

    def bucket(self, name: str) -> Bucket | None:
        """Return the configured bucket called `name`, if any."""
        for b in self.buckets:
            if b.name == name:
                return b
        return None

    def account(self, secret_id: str) -> Account | None:
        """Return the account owning `secret_id`, if any."""
        for a in self.accounts:
            if a.secret_id == secret_id:
                return a
        return None

    @property
    def uses_demo_key(self) -> bool:
        """True while the shipped demo key pair is configured."""
        return any(a.secret_key == DEMO_SECRET_KEY for a in self.accounts)


_TABLES = {"server": ServerSettings, "scheduler": SchedulerSettings, "callbacks": CallbackSettings}


def load(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
         environ: dict[str, str] | None = None) -> Settings:
    """Load the defaults, then `path`, then CI_JOBS_* variables, then `overrides` (flag values)."""
    raw = _read(DEFAULTS)
    if path:
        _merge(raw, _read(Path(path)))
    env = os.environ if environ is None else environ
    _apply_env(raw, env)
    for key, value in (overrides or {}).items():
        if value is not None:
            raw.setdefault("server", {})[key] = value
    return _build(raw)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidArgument(f"cannot read configuration {path}: {exc}") from exc


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _apply_env(raw: dict[str, Any], env: Any) -> None:
    for table, cls in _TABLES.items():
        for f in fields(cls):
            for name in (f"{ENV_PREFIX}{table.upper()}_{f.name.upper()}",
                         f"{ENV_PREFIX}{f.name.upper()}" if table == "server" else ""):
                if name and name in env:
                    raw.setdefault(table, {})[f.name] = env[name]
    if f"{ENV_PREFIX}MQ_URL" in env:
        raw.setdefault("mq", {})["url"] = env[f"{ENV_PREFIX}MQ_URL"]
    if f"{ENV_PREFIX}SECRET_ID" in env and f"{ENV_PREFIX}SECRET_KEY" in env:
        first = (raw.get("accounts") or [{}])[0]
        raw["accounts"] = [{"appid": env.get(f"{ENV_PREFIX}APPID", first.get("appid", "")),
                            "secret_id": env[f"{ENV_PREFIX}SECRET_ID"],
                            "secret_key": env[f"{ENV_PREFIX}SECRET_KEY"]}]


def _coerce(cls: type, values: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise InvalidArgument(f"unknown setting {cls.__name__}.{key}")
        default = getattr(cls(), key)
        kwargs[key] = _convert(key, value, default)
    return cls(**kwargs)


def _convert(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(default, tuple):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return tuple(value)
    try:
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"setting {key}: {value!r} is not a {type(default).__name__}") from exc


def _build(raw: dict[str, Any]) -> Settings:
    accounts = tuple(Account(str(a["appid"]), str(a["secret_id"]), str(a["secret_key"]))
                     for a in raw.get("accounts", []))
    buckets = tuple(Bucket(str(b["name"]), str(b["region"])) for b in raw.get("buckets", []))
    for b in buckets:
        if "-" not in b.name or not b.appid.isdigit():
            raise InvalidArgument(f"bucket {b.name!r} must be named <name>-<APPID>")
    return Settings(
        server=_coerce(ServerSettings, raw.get("server", {})),
        scheduler=_coerce(SchedulerSettings, raw.get("scheduler", {})),
        callbacks=_coerce(CallbackSettings, raw.get("callbacks", {})),
        mq=_mq(raw.get("mq", {})),
        accounts=accounts,
        buckets=buckets,
    )


def _mq(raw: dict[str, Any]) -> MqSettings:
    regions = raw.get("regions", {})
    if not isinstance(regions, dict):
        raise InvalidArgument("[mq.regions] must be a table of region = \"amqp://...\"")
    return MqSettings(url=str(raw.get("url", "")), regions=tuple((str(k), str(v)) for k, v in regions.items()))


def with_server(settings: Settings, **changes: Any) -> Settings:
    """Return `settings` with some [server] values replaced."""
    return replace(settings, server=replace(settings.server, **changes))

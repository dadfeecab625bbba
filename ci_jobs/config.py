"""Settings: the shipped TOML defaults, a user's TOML file, environment variables and flags, in that order.

Every table is a pydantic dataclass (frozen, unknown keys forbidden, each value's type and range
declared), so a misspelt table or key, `"flase"`, `2.7` for an integer, or a negative port is
refused at start with the key named (`InvalidArgument`), never taken silently. Environment values
are strings and are converted by the same rules (`"5"` -> 5, `"true"`/`"1"` -> True).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import field, fields, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from .errors import InvalidArgument
from .outbound import Policy

_STRICT = ConfigDict(extra="forbid")
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(gt=0)]

DEFAULTS = Path(__file__).with_name("defaults.toml")
ENV_PREFIX = "CI_JOBS_"
DEMO_SECRET_KEY = "EXAMPLEKEY"


@dataclass(frozen=True, config=ConfigDict(extra="forbid", coerce_numbers_to_str=True))
class Account:
    """One API key pair and the APPID whose buckets it may use."""

    appid: Annotated[str, Field(pattern=r"^\d+$")]
    secret_id: Annotated[str, Field(min_length=1)]
    secret_key: Annotated[str, Field(min_length=1)]


@dataclass(frozen=True, config=_STRICT)
class Bucket:
    """A configured bucket (`name` includes the APPID suffix)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*-\d+$")]
    region: Annotated[str, Field(min_length=1)]

    @property
    def appid(self) -> str:
        """The APPID: the numeric suffix of the bucket name."""
        return self.name.rsplit("-", 1)[1]


@dataclass(frozen=True, config=_STRICT)
class ServerSettings:
    """The [server] table."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    data_dir: str = "./var"
    allow_public_with_demo_key: bool = False
    ci_paths_on_cos_host: bool = True
    default_bucket: str = ""
    admin: bool = False
    queues_dir: str = "queues"
    max_skew_seconds: Count = 900
    store: str = "sqlite"
    storage: str = "local"
    ephemeral: bool = False
    workers_enabled: bool = True
    migrate_on_start: bool = True


@dataclass(frozen=True, config=_STRICT)
class SchedulerSettings:
    """The [scheduler] table."""

    workers: Count = 0
    fast_lane: Count = 1
    lease_seconds: Seconds = 30.0
    max_attempts: Positive = 3
    default_max_concurrent: Positive = 10
    heartbeat_seconds: Seconds = 1.0
    poll_seconds: Seconds = 2.0
    stop_grace_seconds: Annotated[float, Field(ge=0)] = 20.0


@dataclass(frozen=True, config=_STRICT)
class CallbackSettings:
    """The [callbacks] table."""

    timeout: Seconds = 5.0
    retry_for_seconds: Seconds = 86400.0  # keep retrying this long (24 h), then keep it as a dead letter
    max_attempts: Count = 0               # or stop after this many attempts (0: as many as fit in retry_for)
    allow_link_local: bool = False
    allow_loopback: bool = False
    retry_base: Seconds = 2.0
    max_delay_seconds: Seconds = 300.0
    poll_seconds: Seconds = 1.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: doubling from retry_base, capped."""
        return float(min(self.retry_base * 2 ** min(attempts - 1, 62), self.max_delay_seconds))

    @property
    def attempt_budget(self) -> int:
        """How many attempts a callback gets before it becomes a dead letter."""
        if self.max_attempts:
            return self.max_attempts
        spent, attempts = 0.0, 1
        while spent + self.delay(attempts) <= self.retry_for_seconds:
            spent += self.delay(attempts)
            attempts += 1
        return attempts

    @property
    def policy(self) -> Policy:
        """Which addresses callbacks may reach."""
        return Policy(allow_loopback=self.allow_loopback, allow_link_local=self.allow_link_local)


@dataclass(frozen=True, config=_STRICT)
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


@dataclass(frozen=True, config=_STRICT)
class ConsoleSettings:
    """The [console] table: an optional password that signs in to the web console as one configured account."""

    password: str = ""  # "" = sign in only with a SecretId and SecretKey; else at least 8 characters
    account: str = ""   # the SecretId of the account the password signs in as ("" = the first [[accounts]])


@dataclass(frozen=True, config=_STRICT)
class Settings:
    """Everything the composition root needs to build a server."""

    server: ServerSettings = field(default_factory=ServerSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    mq: MqSettings = field(default_factory=MqSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
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
    def console_account(self) -> Account | None:
        """The account the console password signs in as (None without a password)."""
        if not self.console.password:
            return None
        if self.console.account:
            return self.account(self.console.account)
        return self.accounts[0] if self.accounts else None

    @property
    def uses_demo_key(self) -> bool:
        """True while the shipped demo key pair is configured."""
        return any(a.secret_key == DEMO_SECRET_KEY for a in self.accounts)


_TABLES = {"server": ServerSettings, "scheduler": SchedulerSettings, "callbacks": CallbackSettings,
           "console": ConsoleSettings}


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


_SETTINGS = TypeAdapter(Settings)


def _build(raw: dict[str, Any]) -> Settings:
    """Validate the merged tables into Settings; the first problem, key named, as InvalidArgument."""
    raw = dict(raw)
    mq = raw.pop("mq", {})
    if not isinstance(mq, dict):
        raise InvalidArgument("setting mq: must be a table")
    try:
        settings = _SETTINGS.validate_python({**raw, "mq": {"url": mq.get("url", "")}})
        extra = sorted(set(mq) - {"url", "regions"})
        if extra:
            raise InvalidArgument(f"unknown setting mq.{extra[0]}")
    except ValidationError as exc:
        raise InvalidArgument(_problem(exc)) from None
    _check_console(settings)
    return replace(settings, mq=_mq(mq))


def _check_console(settings: Settings) -> None:
    """A console password needs 8 characters and an account to sign in as."""
    c = settings.console
    if c.account and settings.account(c.account) is None:
        raise InvalidArgument(f"setting console.account = {c.account!r}: no [[accounts]] has this secret_id")
    if not c.password:
        return
    if len(c.password) < 8:
        raise InvalidArgument("setting console.password: must be at least 8 characters (or \"\" for none)")
    if settings.console_account is None:
        raise InvalidArgument("setting console.password: needs an [[accounts]] entry to sign in as")


def _problem(exc: ValidationError) -> str:
    """One line naming the key: `setting scheduler.workers = -1: ...` or `unknown setting server.prot`."""
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown setting {key}"
    if first["type"] == "missing":
        return f"setting {key} is required"
    return f"setting {key} = {first.get('input')!r}: {first['msg']}"


def _mq(raw: dict[str, Any]) -> MqSettings:
    regions = raw.get("regions", {})
    if not isinstance(regions, dict):
        raise InvalidArgument("[mq.regions] must be a table of region = \"amqp://...\"")
    return MqSettings(url=str(raw.get("url", "")), regions=tuple((str(k), str(v)) for k, v in regions.items()))


def with_server(settings: Settings, **changes: Any) -> Settings:
    """Return `settings` with some [server] values replaced."""
    return replace(settings, server=replace(settings.server, **changes))

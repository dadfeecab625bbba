"""The console password of the config: validated at load, masked when printed, and what it signs in as.

No browser: tests/console/test_console.py signs in with it in Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_jobs import cli, config
from ci_jobs.errors import InvalidArgument

TWO_ACCOUNTS = """
[[accounts]]
appid = "1250000000"
secret_id = "AKIDfirst"
secret_key = "first-key-0000"

[[accounts]]
appid = "1250000001"
secret_id = "AKIDsecond"
secret_key = "second-key-0000"
"""


def _load(tmp_path: Path, console: str, env: dict[str, str] | None = None) -> config.Settings:
    (tmp_path / "c.toml").write_text(TWO_ACCOUNTS + console)
    return config.load(tmp_path / "c.toml", environ=env or {})


def test_no_password_by_default(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    assert settings.console.password == "" and settings.console_account is None


def test_the_password_signs_in_as_the_named_account_or_the_first(tmp_path: Path) -> None:
    named = _load(tmp_path, '[console]\npassword = "long-enough"\naccount = "AKIDsecond"\n')
    assert named.console_account is not None and named.console_account.appid == "1250000001"
    first = _load(tmp_path, '[console]\npassword = "long-enough"\n')
    assert first.console_account is not None and first.console_account.secret_id == "AKIDfirst"
    env = {"CI_JOBS_CONSOLE_PASSWORD": "from-the-env", "CI_JOBS_CONSOLE_ACCOUNT": "AKIDsecond"}
    from_env = _load(tmp_path, "", env)
    assert from_env.console.password == "from-the-env" and from_env.console_account == named.console_account


@pytest.mark.parametrize(("console", "message"), [
    ('[console]\npassword = "short"\n', "setting console.password: must be at least 8 characters"),
    ('[console]\npassword = "long-enough"\naccount = "AKIDnobody"\n',
     "setting console.account = 'AKIDnobody': no [[accounts]] has this secret_id"),
    ('[console]\npasword = "long-enough"\n', "unknown setting console.pasword"),
    ("[console]\npassword = 12345678\n", "setting console.password = 12345678"),
])
def test_a_bad_console_setting_is_refused_by_name(tmp_path: Path, console: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _load(tmp_path, console)
    assert message in caught.value.message


def test_the_password_is_never_printed(tmp_path: Path) -> None:
    settings = _load(tmp_path, '[console]\npassword = "do-not-print-me"\naccount = "AKIDsecond"\n')
    shown = cli.effective(settings)
    assert "do-not-print-me" not in shown and "password = '********'" in shown
    assert "account = 'AKIDsecond'" in shown
    banner = cli.banner(settings)
    assert "do-not-print-me" not in banner and "or the console password as APPID 1250000001" in banner
    assert "console password" not in cli.banner(_load(tmp_path, ""))

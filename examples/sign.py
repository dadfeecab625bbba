"""Print a COS `Authorization` header value for curl: `sign.py METHOD PATH [HOST]` (demo key by default)."""

from __future__ import annotations

import os
import sys
import time

from ci_jobs.auth import signature


def main() -> None:
    method, path = sys.argv[1], sys.argv[2]
    host = sys.argv[3] if len(sys.argv) > 3 else "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
    secret_id = os.environ.get("CI_JOBS_SECRET_ID", "AKIDEXAMPLE")
    secret_key = os.environ.get("CI_JOBS_SECRET_KEY", "EXAMPLEKEY")
    now = int(time.time())
    key_time = f"{now - 60};{now + 3600}"
    sig = signature(secret_key, key_time, method, path, [], [("host", host)])
    print(f"q-sign-algorithm=sha1&q-ak={secret_id}&q-sign-time={key_time}&q-key-time={key_time}"
          f"&q-header-list=host&q-url-param-list=&q-signature={sig}")


if __name__ == "__main__":
    main()

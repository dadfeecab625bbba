#!/usr/bin/env bash
# curl against a running ci-jobs (`make run`): upload, submit a Transcode job, poll it.
# Signatures come from examples/sign.py (only the Host header is signed, as the SDKs allow).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EP=${EP:-http://127.0.0.1:8080}
HOST=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com
CLIP=${1:-}
if [ -z "$CLIP" ]; then
  CLIP=$(mktemp --suffix=.mp4)
  $PY -c "
import av, sys
with av.open(sys.argv[1], 'w') as out:
    vs = out.add_stream('libx264', rate=25); vs.width, vs.height, vs.pix_fmt = 320, 240, 'yuv420p'
    with av.open('testsrc2=size=320x240:rate=25:duration=2', format='lavfi') as src:
        for f in src.decode(video=0):
            f.pts = None; out.mux(vs.encode(f))
    out.mux(vs.encode())" "$CLIP"
fi

curl -sf -X PUT "$EP/input/curl.mp4" -H "Host: $HOST" \
  -H "Authorization: $($PY examples/sign.py PUT /input/curl.mp4 $HOST)" --data-binary @"$CLIP"
echo "uploaded input/curl.mp4"

BODY=$(sed 's#input/demo.mp4#input/curl.mp4#' examples/jobs/Transcode.xml)
RESP=$(curl -sf -X POST "$EP/jobs" -H "Host: $HOST" -H "Authorization: $($PY examples/sign.py POST /jobs $HOST)" \
  --data-binary "$BODY" -H 'Content-Type: application/xml')
echo "$RESP"
JOB=$(echo "$RESP" | sed -n 's:.*<JobId>\(j[0-9a-f]*\)</JobId>.*:\1:p')
for _ in $(seq 1 60); do
  STATE=$(curl -sf "$EP/jobs/$JOB" -H "Host: $HOST" -H "Authorization: $($PY examples/sign.py GET /jobs/$JOB $HOST)" \
    | sed -n 's:.*<State>\([A-Za-z]*\)</State>.*:\1:p')
  echo "$JOB: $STATE"
  case "$STATE" in Success|Failed|Cancel) break;; esac
  sleep 1
done

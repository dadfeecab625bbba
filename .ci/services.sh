#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, trust) and RabbitMQ (127.0.0.1:5672, guest/guest) answer for
# the distributed-mode tests: use running ones, else start installed ones, else install (Debian) and start.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 "${2:-60}"); do port_open "$1" && return 0; sleep 1; done; return 1; }
apt_ready=0
apt_install() {
  if [ "$apt_ready" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! port_open 5432; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "services: installing PostgreSQL"; apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  echo "services: starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main restart
  wait_port 5432 60 || { echo "services: PostgreSQL did not start"; exit 1; }
fi
echo "services: PostgreSQL answers on 5432"

if ! port_open 5672; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "services: installing RabbitMQ"; apt_install rabbitmq-server
  fi
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_port 5672 120 || { echo "services: RabbitMQ did not start"; exit 1; }
fi
echo "services: RabbitMQ answers on 5672"

# The ffmpeg CLI is no run-time dependency; the tests use it to make fixtures as users do (DirectConcat
# of CLI-made mp4s) and the bench as its reference. Without it those few tests skip, saying so.
if ! command -v ffmpeg >/dev/null 2>&1; then
  echo "services: installing the ffmpeg CLI"; apt_install ffmpeg || echo "services: ffmpeg CLI not installed"
fi

# The console's browser tests (tests/console) drive Debian's Chromium through Playwright; under CI they
# fail without it, so install it here.
if [ ! -x /usr/bin/chromium ]; then
  echo "services: installing chromium"; apt_install chromium || echo "services: chromium not installed"
fi

# SuperResolution Version Enhance (the enhance extra, in the test extra) loads libomp and libvulkan.
if ! ldconfig -p | grep -q 'libomp.so.5' || ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  echo "services: installing libomp5 and libvulkan1"; apt_install libomp5 libvulkan1 || echo "services: not installed"
fi

# Tts in Chinese and the male voices speak through espeak-ng (Debian); without it those tests skip, saying so.
if ! command -v espeak-ng >/dev/null 2>&1; then
  echo "services: installing espeak-ng"; apt_install espeak-ng || echo "services: espeak-ng not installed"
fi

# VideoTag's OpenCV (opencv-python, which rapidocr-onnxruntime requires) loads libGL and libglib at import.
if ! ldconfig -p | grep -q 'libGL.so.1' || ! ldconfig -p | grep -q 'libglib-2.0.so.0'; then
  echo "services: installing libgl1 and libglib2.0-0"; apt_install libgl1 libglib2.0-0 || echo "services: not installed"
fi

#!/usr/bin/env bash
# Copy a bundle and the device package to a Raspberry Pi with rsync over ssh, then print the next command.
#
# Usage: scripts/deploy.sh PI MODEL
#   PI     user@host of the Pi, or a local folder (a path starting with /, ./ or ../) to deploy into for a dry run
#   MODEL  bundle folder written by `make export`, e.g. models/demo
# Environment:
#   DEPLOY_RSYNC_TARGET  overrides PI's destination with any rsync target (user@host:dir or a local folder)
#   DEPLOY_DIR           folder on the Pi, relative to the login's home (default: frugalclip)
set -euo pipefail

usage="usage: make deploy PI=user@host MODEL=models/<name>   (or scripts/deploy.sh PI MODEL)"
pi="${1:-}"
model="${2:-}"
deploy_dir="${DEPLOY_DIR:-frugalclip}"
repo_root="$(cd "$(dirname "$0")/.." && pwd)"

if [[ -z "$model" ]]; then
    echo "error: no bundle given: pass MODEL=models/<name> (a folder written by \`make export\`); $usage" >&2
    exit 2
fi
if [[ ! -f "$model/manifest.json" ]]; then
    echo "error: $model has no manifest.json: pass a bundle folder written by \`make export\`" >&2
    exit 2
fi
if [[ -z "$pi" && -z "${DEPLOY_RSYNC_TARGET:-}" ]]; then
    echo "error: no Pi given: pass PI=user@host; $usage" >&2
    exit 2
fi
if ! command -v rsync >/dev/null; then
    echo "error: rsync not found: install it (\`sudo apt install rsync\`) here and on the Pi" >&2
    exit 2
fi

if [[ -n "${DEPLOY_RSYNC_TARGET:-}" ]]; then
    target="${DEPLOY_RSYNC_TARGET%/}"
elif [[ "$pi" == /* || "$pi" == ./* || "$pi" == ../* ]]; then
    target="${pi%/}/$deploy_dir"
else
    target="$pi:$deploy_dir"
fi

# A target with "host:" goes over ssh; a plain path stays on this machine.
rsync_args=(-rlt --mkpath --delete --exclude "__pycache__/" --exclude "*.egg-info/" --exclude "*.pyc")
if [[ "$target" == *:* ]]; then
    rsync_args+=(-z -e "ssh")
fi

name="$(basename "$(cd "$model" && pwd)")"
echo "deploying bundle $model and the device package to $target"
rsync "${rsync_args[@]}" "$repo_root/device/" "$target/device/"
rsync "${rsync_args[@]}" "$model/" "$target/models/$name/"
rsync "${rsync_args[@]}" "$repo_root/deploy/" "$target/deploy/"

# The next command runs where the files went: over ssh in the target's folder (relative to
# the login's home, like rsync's), or in the local folder given by its absolute path.
if [[ "$target" == *:* ]]; then
    remote_dir="${target#*:}"
    where="cd ${remote_dir:-~}"
else
    where="cd $(printf '%q' "$(cd "$target" && pwd)")"
fi
run_command="$where && python3 -m venv --system-site-packages .venv && .venv/bin/pip install ./device"
run_command+=" && .venv/bin/frugalclip-device run --model models/$name --source picamera2 --log runs/"
if [[ "$target" == *:* ]]; then
    echo "done. Next, on the Pi (one-time setup in device/README.md):"
    echo "  ssh ${target%%:*} '$run_command'"
else
    echo "done. Next, in the deployed folder (one-time setup in device/README.md):"
    echo "  $run_command"
fi

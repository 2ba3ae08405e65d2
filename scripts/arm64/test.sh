#!/usr/bin/env bash
# Run tests/device on aarch64 builds of the device runtime's dependencies, under QEMU
# user-mode emulation, once per Raspberry Pi CPU, and check cross-ISA parity against x86_64.
#
# Usage: scripts/arm64/test.sh [PYTEST_ARG]...   (make test-arm64 ARGS="-k parity")
# Needs root, qemu-user-static with binfmt_misc, and on the first run mmdebstrap and access
# to a Debian mirror and the Python package index. scripts/arm64/README.md explains the steps.
#
# Environment:
#   FRUGALCLIP_ARM64_CACHE       cache folder, outside the checkout (default ~/.cache/frugalclip/arm64)
#   FRUGALCLIP_ARM64_MIRROR      Debian mirror with arm64 packages (default: the host's apt mirror)
#   FRUGALCLIP_ARM64_QEMU_CPUS   CPUs to emulate, in order (default "cortex-a76 cortex-a72": Pi 5, Pi 4)
#   FRUGALCLIP_TRASHNET          TrashNet folder for the photo tests and the parity fixture
#   FRUGALCLIP_HOST_PYTHON       host Python with both packages installed (default .venv/bin/python)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

cache_dir=${FRUGALCLIP_ARM64_CACHE:-$HOME/.cache/frugalclip/arm64}
qemu_cpus=${FRUGALCLIP_ARM64_QEMU_CPUS:-cortex-a76 cortex-a72}
trashnet_dir=${FRUGALCLIP_TRASHNET:-$repo/../shared/data/trashnet}
host_python=${FRUGALCLIP_HOST_PYTHON:-$repo/.venv/bin/python}
results_dir=$repo/benchmarks/arm64-parity

# Raspberry Pi OS 64-bit is based on Debian bookworm, whose Python is 3.11.
suite=bookworm
python_version=3.11
rootfs_packages=python3,python3-venv,python3-pip,ca-certificates
# Bump when the rootfs recipe changes in a way the keys below cannot see.
recipe_version=1
venv=/opt/frugalclip

started_s=$SECONDS
phase_started_s=$SECONDS
timings=()

log() { echo "[arm64] $*"; }
fail() {
    echo "[arm64] error: $*" >&2
    exit 2
}
end_phase() {
    timings+=("$1: $((SECONDS - phase_started_s)) s")
    phase_started_s=$SECONDS
}

check_prerequisites() {
    if [ "$(id -u)" -ne 0 ]; then
        fail "must run as root (it uses chroot, mount and unshare); run: sudo $0 $*"
    fi
    if [ "$(uname -m)" != x86_64 ]; then
        fail "this script emulates aarch64 on an x86_64 host; this host is $(uname -m)"
    fi
    command -v unshare >/dev/null || fail "unshare not found; install it with: apt-get install -y util-linux"
    command -v qemu-aarch64-static >/dev/null \
        || fail "qemu-aarch64-static not found; install it with: apt-get install -y qemu-user-static binfmt-support"

    local binfmt=/proc/sys/fs/binfmt_misc
    if [ ! -e "$binfmt/status" ]; then
        log "mounting binfmt_misc at $binfmt"
        mount -t binfmt_misc binfmt_misc "$binfmt" \
            || fail "cannot mount binfmt_misc; run: mount -t binfmt_misc binfmt_misc $binfmt"
    fi
    if ! grep -qx enabled "$binfmt/qemu-aarch64" 2>/dev/null; then
        log "enabling the qemu-aarch64 binfmt handler"
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    fi
    grep -qx enabled "$binfmt/qemu-aarch64" 2>/dev/null \
        || fail "no enabled qemu-aarch64 handler in $binfmt; run: apt-get install -y qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64"
    # F (fix binary): the kernel opens the interpreter at registration, so it works inside a chroot.
    grep -q '^flags:.*F' "$binfmt/qemu-aarch64" \
        || fail "the qemu-aarch64 binfmt handler lacks the F flag, so it cannot run inside a chroot; reinstall Debian's qemu-user-static"

    [ -x "$host_python" ] || fail "host Python $host_python not found; run make setup, or set FRUGALCLIP_HOST_PYTHON"
}

# Print the first Debian archive URI of the host's apt sources, or deb.debian.org.
detect_mirror() {
    local uri
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' \
        | grep -oE 'https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
        | head -n 1 | tr -d '[:space:]' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

# Print the device package's pinned requirements, its test extra included, one per line.
device_requirements() {
    "$host_python" - "$repo/device/pyproject.toml" <<'EOF'
import sys, tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
    print(requirement)
EOF
}

key_of() { sha256sum | cut -c 1-16; }

ensure_base_tarball() {
    base_tar=$cache_dir/base-$base_key.tar
    if [ -f "$base_tar" ]; then
        log "reusing base rootfs $base_tar"
        return
    fi
    command -v mmdebstrap >/dev/null || fail "mmdebstrap not found; install it with: apt-get install -y mmdebstrap"
    local mirror=${FRUGALCLIP_ARM64_MIRROR:-$(detect_mirror)}
    log "building the arm64 $suite base rootfs from $mirror (about 4 minutes)"
    if ! mmdebstrap --quiet --format=tar --arch=arm64 --variant=minbase --include="$rootfs_packages" \
        "$suite" "$base_tar.partial" "deb $mirror $suite main" "deb $mirror $suite-updates main"; then
        rm -f "$base_tar.partial"
        fail "mmdebstrap failed; check that $mirror is reachable and carries arm64 packages, or set FRUGALCLIP_ARM64_MIRROR"
    fi
    mv "$base_tar.partial" "$base_tar"
}

ensure_wheels() {
    wheels_dir=$cache_dir/wheels-$rootfs_key
    if [ -f "$wheels_dir/.complete" ]; then
        return
    fi
    log "downloading aarch64 wheels for: $(echo "$requirements" | tr '\n' ' ')"
    rm -rf "$wheels_dir"
    # shellcheck disable=SC2086  # one requirement per word
    if ! "$host_python" -m pip download --quiet --dest "$wheels_dir" --only-binary=:all: \
        --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 \
        --python-version "$python_version" --implementation cp $requirements; then
        fail "pip could not download the aarch64 wheels; check access to the package index (pip config list)"
    fi
    touch "$wheels_dir/.complete"
}

ensure_rootfs() {
    rootfs=$cache_dir/rootfs-$rootfs_key
    if [ -f "$rootfs/.frugalclip-ready" ]; then
        log "reusing rootfs $rootfs"
        return
    fi
    ensure_base_tarball
    ensure_wheels

    local partial=$rootfs.partial
    log "creating $rootfs with a venv of the pinned requirements"
    rm -rf "$partial"
    mkdir -p "$partial"
    tar -xf "$base_tar" -C "$partial"
    # shellcheck disable=SC2086
    unshare --mount --propagation private "$here/in_rootfs.sh" "$partial" cortex-a76 "ro:$wheels_dir:/wheels" -- \
        /bin/sh -euc "python3 -m venv $venv
            $venv/bin/pip install --quiet --no-index --find-links /wheels $(echo $requirements)
            $venv/bin/pip freeze > $venv/requirements-frozen.txt"
    echo "$rootfs_key" >"$partial/.frugalclip-ready"
    mv "$partial" "$rootfs"

    # Older rootfs, wheel and base versions are no longer reachable from any key.
    find "$cache_dir" -mindepth 1 -maxdepth 1 \( -name 'rootfs-*' -o -name 'wheels-*' -o -name 'base-*' \) \
        ! -name "rootfs-$rootfs_key" ! -name "wheels-$rootfs_key" ! -name "base-$base_key.tar" \
        -exec rm -rf {} +
}

install_device_package() {
    local build_dir=$work_dir/device-build
    mkdir -p "$build_dir"
    # Build from a copy so that no build/ or egg-info folder lands in the checkout.
    cp -r "$repo/device" "$build_dir/source"
    find "$build_dir/source" \( -name '*.egg-info' -o -name build -o -name __pycache__ \) -prune -exec rm -rf {} +
    "$host_python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$build_dir/dist" "$build_dir/source"
    unshare --mount --propagation private "$here/in_rootfs.sh" "$rootfs" cortex-a76 "ro:$build_dir/dist:/dist" -- \
        /bin/sh -euc "$venv/bin/pip install --quiet --no-index --no-deps --force-reinstall /dist/*.whl"
}

ensure_parity_fixture() {
    local fixture_key data_args=()
    if [ -d "$trashnet_dir/glass" ]; then
        data_args=(--data "$trashnet_dir")
    else
        log "TrashNet not found at $trashnet_dir; the parity fixture uses scikit-image's photos"
    fi
    fixture_key=$( (cat "$here/make_parity_fixture.py" "$repo"/device/frugalclip_device/*.py "$repo"/host/frugalclip_host/*.py
        echo "${data_args[*]}"
        "$host_python" -m pip freeze 2>/dev/null) | key_of)
    parity_dir=$cache_dir/parity-$fixture_key
    if [ ! -f "$parity_dir/fixture.json" ]; then
        log "writing the x86_64 parity fixture to $parity_dir"
        find "$cache_dir" -mindepth 1 -maxdepth 1 -name 'parity-*' -exec rm -rf {} +
        "$host_python" "$here/make_parity_fixture.py" "$parity_dir" "${data_args[@]}"
    fi
    rm -rf "$parity_dir/results"
}

run_device_tests() {
    local qemu_cpu=$1
    shift
    local binds=("ro:$repo:/repo" "rw:$parity_dir:/parity")
    local trashnet_env=()
    if [ -d "$trashnet_dir/glass" ]; then
        # /shared/data/trashnet is where tests find it beside a checkout at /repo without the variable.
        binds+=("ro:$(cd "$trashnet_dir" && pwd):/shared/data/trashnet")
        trashnet_env=(FRUGALCLIP_TRASHNET=/shared/data/trashnet)
    fi
    log "running tests/device on aarch64 with QEMU_CPU=$qemu_cpu"
    unshare --mount --propagation private "$here/in_rootfs.sh" "$rootfs" "$qemu_cpu" "${binds[@]}" -- \
        /usr/bin/env PYTHONDONTWRITEBYTECODE=1 \
        FRUGALCLIP_PARITY_DIR=/parity FRUGALCLIP_PARITY_LABEL="aarch64-$qemu_cpu" "${trashnet_env[@]}" \
        /bin/sh -c 'cd /repo && exec "$0" -m pytest tests/device -p no:cacheprovider "$@"' "$venv/bin/python" "$@"
}

print_parity_summary() {
    local reports=("$parity_dir"/results/parity-*.json)
    if [ ! -f "${reports[0]}" ]; then
        log "no parity report was written (the parity tests did not run)"
        return
    fi
    mkdir -p "$results_dir"
    cp "${reports[@]}" "$results_dir/"
    "$host_python" - "${reports[@]}" <<'EOF'
import json, sys

print("[arm64] cross-ISA parity against x86_64 (tiny random-init model: agreement, not accuracy)")
print(f"{'platform':<22} {'variant':<26} {'max|dp| same input':>18} {'top-1 same':>10} {'top-1 e2e':>10} {'max|dpx|':>8}")
for path in sys.argv[1:]:
    report = json.load(open(path))
    label = report["platform"]["label"]
    for name, figures in report["variants"].items():
        print(
            f"{label:<22} {name:<26} {figures['same_input']['max_abs_probability_diff']:>18.2e} "
            f"{figures['same_input']['top1_agreement']:>10.3f} {figures['end_to_end']['top1_agreement']:>10.3f} "
            f"{report['preprocess']['max_abs_pixel_diff']:>8d}"
        )
EOF
    log "parity reports copied to $results_dir"
}

check_prerequisites "$@"
mkdir -p "$cache_dir"
exec 9>"$cache_dir/.lock"
flock 9

requirements=$(device_requirements)
base_key=$(printf '%s\n' "$recipe_version" "$suite" "$rootfs_packages" | key_of)
rootfs_key=$(printf '%s\n' "$base_key" "$python_version" "$requirements" | key_of)
work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

ensure_rootfs
end_phase "rootfs"
install_device_package
end_phase "device package"
ensure_parity_fixture
end_phase "parity fixture"

failed=()
for qemu_cpu in $qemu_cpus; do
    if ! run_device_tests "$qemu_cpu" "$@"; then
        failed+=("$qemu_cpu")
    fi
    end_phase "tests on $qemu_cpu"
done

print_parity_summary
log "timings (emulated; not a measure of Raspberry Pi speed): ${timings[*]}; total $((SECONDS - started_s)) s"
if [ "${#failed[@]}" -gt 0 ]; then
    log "FAILED on: ${failed[*]}"
    exit 1
fi
log "passed on: $qemu_cpus"

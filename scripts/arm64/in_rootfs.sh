#!/usr/bin/env bash
# Run one command inside the aarch64 rootfs under QEMU user-mode emulation, as a Raspberry Pi.
#
# Usage: in_rootfs.sh ROOTFS QEMU_CPU [ro:HOST_DIR:ROOTFS_DIR | rw:HOST_DIR:ROOTFS_DIR]... -- COMMAND [ARG]...
#
# Must run as root in a private mount namespace (test.sh starts it with
# `unshare --mount --propagation private`), so every mount below disappears when it exits.
# The command gets a clean environment with QEMU_CPU set; add variables with `env` in COMMAND.
#
# The host's /sys is not mounted and /proc/cpuinfo is replaced by a Raspberry Pi's, because
# ONNX Runtime's cpuinfo library otherwise parses the x86 host's files and crashes. A tmpfs
# /sys holds only the CPU lists of a 4-core Pi: without them that library prints
# "Error in cpuinfo" lines on stderr at every import of onnxruntime.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

if [ "$#" -lt 3 ]; then
    echo "usage: $0 ROOTFS QEMU_CPU [ro|rw:HOST_DIR:ROOTFS_DIR]... -- COMMAND [ARG]..." >&2
    exit 2
fi
rootfs=$1
qemu_cpu=$2
shift 2

cpuinfo="$here/cpuinfo/$qemu_cpu.cpuinfo"
if [ ! -f "$cpuinfo" ]; then
    known=$(cd "$here/cpuinfo" && ls -- *.cpuinfo | sed 's/\.cpuinfo$//' | tr '\n' ' ')
    echo "error: no Raspberry Pi /proc/cpuinfo for QEMU_CPU=$qemu_cpu; expected one of: $known" >&2
    exit 2
fi

mount -t proc proc "$rootfs/proc"
mount --bind "$cpuinfo" "$rootfs/proc/cpuinfo"
mount --bind /dev "$rootfs/dev"
mount -t tmpfs tmpfs "$rootfs/dev/shm"
mount -t tmpfs tmpfs "$rootfs/tmp"
mount -t tmpfs tmpfs "$rootfs/sys"
mkdir -p "$rootfs/sys/devices/system/cpu"
echo 0-3 >"$rootfs/sys/devices/system/cpu/possible"
echo 0-3 >"$rootfs/sys/devices/system/cpu/present"
mount -o remount,ro "$rootfs/sys"

while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    IFS=: read -r mode source target <<<"$1"
    if [ ! -d "$source" ] || { [ "$mode" != ro ] && [ "$mode" != rw ]; }; then
        echo "error: invalid bind $1; expected ro:HOST_DIR:ROOTFS_DIR or rw:HOST_DIR:ROOTFS_DIR with an existing HOST_DIR" >&2
        exit 2
    fi
    mkdir -p "$rootfs$target"
    mount --bind "$source" "$rootfs$target"
    if [ "$mode" = ro ]; then
        mount -o remount,bind,ro "$rootfs$target"
    fi
    shift
done
if [ "$#" -lt 2 ]; then
    echo "error: missing '-- COMMAND' after the binds" >&2
    exit 2
fi
shift

exec chroot "$rootfs" /usr/bin/env -i \
    PATH=/usr/local/bin:/usr/bin:/bin \
    HOME=/root \
    LANG=C.UTF-8 \
    QEMU_CPU="$qemu_cpu" \
    "$@"

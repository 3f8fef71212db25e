#!/bin/sh
# Installs the Debian packages the project builds and tests with. Safe to run again: packages
# already present are skipped, and the package index is refreshed only when something is missing.
#   seccomp         scmp_sys_resolver, used by scripts/gen_syscalls.ts and the table tests
#   libseccomp-dev  libseccomp headers and library, used by the seccomp benchmark
#   python3-minimal /usr/bin/python3, run under seccomp filters by tests/seccomp_driver_test.ts
#   gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user-static
#                   the arm64 control process (scripts/build.ts --platform aarch64), run under
#                   qemu-aarch64-static
#   libc6-dev-i386, lib32gcc-12-dev
#                   the 32-bit control process (gcc -m32); gcc-multilib would bring the same but
#                   conflicts with the arm64 cross compiler
#   musl-tools      musl-gcc, for the musl control process
#   clang, libclang-rt-14-dev
#                   libFuzzer and the sanitizer runtimes of the fuzz harnesses (scripts/fuzz.ts)
#   bubblewrap      bwrap, the reference the command line (cli.ts) is tested and measured against
#   tmux            a terminal for the command line's interactive test
set -eu

packages="seccomp libseccomp-dev python3-minimal
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
    libc6-dev-i386 lib32gcc-12-dev musl-tools clang libclang-rt-14-dev bubblewrap tmux"

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "warning: not root, cannot install:$missing (tests that need them will skip)" >&2
    exit 0
fi

$SUDO apt-get update -qq
# shellcheck disable=SC2086 # the list is meant to split into words
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing

#!/bin/sh
# Builds the native files (the alcove executable and libalcove.so) from this folder with
# nothing but a C compiler: for a machine without make, or an architecture that has no
# prebuilt files. The Makefile does the same with warnings as errors and incremental builds.
#   sh build.sh OUT_DIR            then point ALCOVE_LIB_PATH at OUT_DIR
#   CC=aarch64-linux-gnu-gcc sh build.sh OUT_DIR
set -eu
out=${1:?usage: sh build.sh OUT_DIR}
cc=${CC:-cc}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
cd "$here"
calls=$(sed -n 's/^ *\(calls\/[a-z0-9_]*\.c\).*/\1/p' calls.mk)
core="buf.c compat.c cstruct.c dispatch.c frame.c loop.c sig.c spawn.c support.c constants.c sandbox.c sandbox_child.c cgroup.c constants_table.c calls_table.c"
# The executable's own: the root control process and the command line's supervisor.
exe="main.c cli.c cli_parse.c"
flags="-std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -I. -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong"
# shellcheck disable=SC2086 # the lists are meant to split into words
"$cc" $flags -fPIE $core $calls $exe -o "$out/alcove" -static-pie 2>/dev/null ||
    "$cc" $flags -fPIE -pie $core $calls $exe -o "$out/alcove"
# shellcheck disable=SC2086
"$cc" $flags -fPIC -fvisibility=hidden -shared $core $calls lib.c -o "$out/libalcove.so"
echo "built $out/alcove and $out/libalcove.so"

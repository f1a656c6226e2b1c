#!/usr/bin/env bats
# libcommon's layers (libcommon/README.md): every include goes down (scripts/check-layers).

load ../helpers

@test "scripts/check-layers: every include in libcommon goes to a lower layer" {
    run_mbd "$MBDT_SOURCE_DIR/scripts/check-layers"
    assert_output_contains "every include goes down"
}

@test "scripts/check-layers catches an include that goes up, one beside, and a directory not in the table" {
    local tree="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$tree"
    cp -r "$MBDT_SOURCE_DIR/libcommon" "$tree/"
    echo '#include "upload/process.hpp"' >>"$tree/libcommon/core/fs.cpp"
    run_mbd 1 "$MBDT_SOURCE_DIR/scripts/check-layers" "$tree"
    assert_output_contains "libcommon/core/fs.cpp:"
    assert_output_contains "core (layer 0) includes upload/ (layer 9): not below it"
    cp -r "$MBDT_SOURCE_DIR/libcommon" "$tree/"
    echo '#include "chroot/chroot.hpp"' >>"$tree/libcommon/keys/peers.cpp"
    run_mbd 1 "$MBDT_SOURCE_DIR/scripts/check-layers" "$tree"
    assert_output_contains "keys (layer 3) includes chroot/ (layer 3): not below it"
    cp -r "$MBDT_SOURCE_DIR/libcommon" "$tree/"
    mkdir "$tree/libcommon/web"
    : >"$tree/libcommon/web/site.cpp"
    run_mbd 1 "$MBDT_SOURCE_DIR/scripts/check-layers" "$tree"
    assert_output_contains "libcommon/web/: not in libcommon/README.md's layer table"
}

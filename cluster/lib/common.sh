# Shared helpers for the cluster/ scripts.
SX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SX_CLUSTER_DIR="${SENDARIX_CLUSTER_DIR:-/tmp/sendarix-cluster}"
sx_binary() {
    if [ -n "${SENDARIX_BINARY:-}" ]; then echo "$SENDARIX_BINARY"; return; fi
    if [ ! -x "$SX_ROOT/.build/release/sendarix" ]; then
        (cd "$SX_ROOT" && swift build -c release --product sendarix >&2)
    fi
    echo "$SX_ROOT/.build/release/sendarix"
}
sx_node_dir() { echo "$SX_CLUSTER_DIR/$1"; }
sx_pid() { cat "$(sx_node_dir "$1")/pid" 2>/dev/null || true; }
sx_alive() { local p; p="$(sx_pid "$1")"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
sx_start_node() {
    local id="$1" dir; dir="$(sx_node_dir "$id")"
    rm -f "$dir/data/listen.json"
    # Fault tests (cluster/nemesis) jump one node's clock through this file (a signed offset in ms);
    # absent, the node runs on the system clock.
    SENDARIX_TEST_CLOCK_OFFSET_FILE="$dir/clock-offset" \
        nohup "$(sx_binary)" serve --config "$dir/sendarix.json" </dev/null >>"$dir/node.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 300); do
        [ -f "$dir/data/listen.json" ] && return 0
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "node $id failed to start; see $dir/node.log" >&2; tail -5 "$dir/node.log" >&2; return 1; }
        sleep 0.1
    done
    echo "node $id did not report its listeners in 30 s" >&2
    return 1
}

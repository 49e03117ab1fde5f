# Installs the Debian packages Sendarix needs, only when some are missing.
# Usage: . cluster/lib/deps.sh; sx_install_deps build|test
sx_install_deps() {
    local want="libssl-dev liblmdb-dev pkg-config openssl ca-certificates"
    if [ "${1:-build}" = test ]; then
        want="$want swaks dnsutils python3-dkim python3-dnspython curl postfix procps iproute2 iptables dnsperf"
    fi
    local missing=""
    for p in $want; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "sendarix: installing Debian packages:$missing" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    # Postfix is only used for its smtp-sink/smtp-source tools and as a benchmark peer:
    # install it without configuring a system mail service.
    echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections 2>/dev/null || true
    if [ ! -f /var/lib/apt/lists/lock ] || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v lock | head -1)" ]; then
        $sudo apt-get update -q >&2
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing >&2 || {
        $sudo apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing >&2
    }
}

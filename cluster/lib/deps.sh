# Installs the Debian packages Sendarix needs, only when some are missing, and checks that each tool
# the tests drive can do what the tests ask of it.
# Usage: . cluster/lib/deps.sh; sx_install_deps build|test; sx_check_tools
#
# Packages are installed with --no-install-recommends, so every feature the tests use that Debian
# ships only as a Recommends is listed here by name:
#   libnet-ssleay-perl  swaks' TLS (STARTTLS, --tlsc); swaks only recommends it
#   python3             /usr/bin/python3 itself (python3-dkim only recommends it)
#   python3-nacl        Ed25519 signatures in python3-dkim (dkimverify)
#   python3-cryptography  RSA/P-256/Ed25519 keys and JWTs for the bearer-token (OAUTHBEARER) tests
#   python3-fusepy      the power-loss tests' filesystem that drops unsynced writes (fuse3: its
#                       fusermount, for running them as a user other than root)
#   chromium            headless browser of the dashboard tests (fonts-dejavu-core: text in the
#                       screenshots; fontconfig only recommends a font)
#   opendkim            an independent DKIM verifier (milter in front of Postfix) for the interop
#                       tests, and the signing milter of cluster/bench's dkim scenario
#   opendkim-tools      opendkim-testkey: checks the DKIM records a sending domain publishes
#   rspamd              outbound spam scoring (/checkv2); the tests start a private instance with a
#                       minimal config on a free 127.55.2.x port, never the system service
#   prometheus          promtool check metrics: the /metrics exposition is checked by Prometheus' own linter
#   unbound             deploy/lab's recursive resolvers (one per region, one sending ECS); the lab starts
#                       its own instances inside namespaces, never the system service
sx_install_deps() {
    local want="libssl-dev liblmdb-dev pkg-config openssl ca-certificates"
    if [ "${1:-build}" = test ]; then
        want="$want swaks libnet-ssleay-perl dnsutils python3 python3-dkim python3-nacl python3-dnspython python3-cryptography
              curl postfix procps iproute2 iptables dnsperf fuse3 python3-fusepy
              opendkim opendkim-tools rspamd prometheus unbound"
    fi
    if [ "${1:-build}" = test ]; then want="$want chromium fonts-dejavu-core"; fi
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
    # Where no policy-rc.d keeps packages from starting services, a fresh unbound would start the
    # system resolver on 127.0.0.1:53, where cluster/up's n1 answers DNS: the lab runs its own.
    if [[ " $missing " == *" unbound "* ]]; then
        { $sudo systemctl disable --now unbound || $sudo service unbound stop; } >/dev/null 2>&1 || true
    fi
}

# Checks, before any test runs, that each external tool the tests drive is there and can do what
# the tests ask of it. Prints every problem with what fixes it; returns 1 when there is any.
sx_check_tools() {
    local problems=0
    _sx_need() { # _sx_need "what" "why/fix" command...
        local what="$1" fix="$2"; shift 2
        if ! "$@" >/dev/null 2>&1; then
            echo "sendarix: test tool check failed: $what ($fix)" >&2
            problems=$((problems + 1))
        fi
    }
    local support
    support="$(swaks --support 2>&1 || true)"
    _sx_need "swaks with TLS" "install libnet-ssleay-perl" grep -q '^=== TLS supported' <<<"$support"
    _sx_need "swaks with AUTH" "swaks' Basic AUTH needs MIME::Base64 (perl)" grep -q '^=== Basic AUTH supported' <<<"$support"
    _sx_need "curl speaking SMTP over TLS" "install curl with libcurl4 (OpenSSL)" \
        bash -c 'curl -V | grep -q "^Protocols:.* smtp .*smtps" && curl -V | grep -q "^Features:.* SSL"'
    _sx_need "dig with EDNS client subnet" "install dnsutils" /usr/bin/dig -v
    _sx_need "/usr/bin/python3 with ssl, smtplib, dnspython, dkim (Ed25519 via nacl)" \
        "install python3 python3-dnspython python3-dkim python3-nacl" \
        /usr/bin/python3 -c 'import ssl, smtplib, dns.message, dns.query, dns.rdtypes, dkim, nacl.signing'
    _sx_need "/usr/bin/python3 with cryptography (JWTs for the XOAUTH2/OAUTHBEARER tests)" "install python3-cryptography" \
        /usr/bin/python3 -c 'from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa'
    _sx_need "/usr/bin/python3 with fusepy" "install python3-fusepy" /usr/bin/python3 -c 'import fusepy'
    _sx_need "/dev/fuse (power-loss tests mount a FUSE layer as root)" "the kernel needs FUSE" test -c /dev/fuse
    _sx_need "smtp-sink and smtp-source" "install postfix" bash -c '[ -x /usr/sbin/smtp-sink ] && [ -x /usr/sbin/smtp-source ]'
    _sx_need "postfix (a private instance is a test peer)" "install postfix" /usr/sbin/postconf -d mail_version
    _sx_need "openssl command" "install openssl" /usr/bin/openssl version
    _sx_need "headless chromium (dashboard tests)" "install chromium" /usr/bin/chromium --version
    _sx_need "iptables on loopback (partition tests; needs root)" "install iptables, run as root" /usr/sbin/iptables -w -S
    _sx_need "ip (iproute2)" "install iproute2" ip -V
    _sx_need "rspamd (spam filter tests start their own)" "install rspamd" /usr/bin/rspamd --version
    _sx_need "promtool (checks the /metrics exposition)" "install prometheus" promtool --version
    _sx_need "unbound with ECS (deploy/lab's resolvers)" "install unbound" bash -c '/usr/sbin/unbound -V | grep -q subnetcache'
    [ "$problems" -eq 0 ] || { echo "sendarix: $problems test tool problem(s); fix them and run again" >&2; return 1; }
}

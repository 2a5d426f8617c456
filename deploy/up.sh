#!/usr/bin/env bash
# smhp: bring up the production layout with one command (docs/deploy.md).
#
#   browser --HTTPS--> nginx (TLS, HSTS, CSP, ...) --> 127.0.0.1:SMHP_DASHBOARD_PORT     (dashboard 1)
#                      sticky: the smhp_route cookie    127.0.0.1:SMHP_DASHBOARD_PORT+1   (dashboard 2)
#                                                       ... SMHP_DASHBOARD_PROCESSES of them
#
# On a fresh Debian 12 machine, as root, from the repo (e.g. /opt/smhp):
#
#   SMHP_SERVER_NAME=dashboard.example.nhs.uk \
#   SMHP_TLS_CERT=/etc/ssl/smhp/fullchain.pem SMHP_TLS_KEY=/etc/ssl/smhp/privkey.pem \
#   deploy/up.sh
#
# installs what is missing (nginx, the venv), and then:
# - with systemd (PID 1): creates the accounts smhp and smhp-web, the folders and keys,
#   installs the units of deploy/systemd/ (smhp-dashboard@PORT, one per process; nightly,
#   retention and audit-seal timers) and the nginx site, and (re)starts them;
# - without systemd (containers, CI): starts the `smhp dashboard` processes and an nginx of
#   its own in the background, with their configuration, pid files and logs under
#   SMHP_STATE_DIR.
# Without a certificate it makes a self-signed one (a first trial only). Running it again
# restarts everything cleanly. deploy/down.sh stops it.
set -euo pipefail
umask 027

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- what is missing: nginx, openssl, the venv -------------------------------------------

apt_install() {
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        die "$* missing, and apt-get cannot install it here (not root, or no apt): install $* first"
    fi
    say "installing $* with apt"
    local policy=/usr/sbin/policy-rc.d added=""
    # Without systemd, a package's postinst would start the system's nginx on port 80:
    # Debian's policy-rc.d convention stops that while installing.
    if [[ $SMHP_DEPLOY_MODE == background && ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && added=1
    fi
    local ok=1
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || ok=""
    if [[ -n $added ]]; then rm -f "$policy"; fi
    [[ -n $ok ]] || die "apt-get install $* failed"
}

ensure_software() {
    local missing=()
    [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
    command -v openssl >/dev/null || missing+=(openssl)
    if [[ ! -x $SMHP_BIN ]]; then
        command -v make >/dev/null || missing+=(make)
        python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
    fi
    if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
    if [[ ! -x $SMHP_BIN ]]; then
        say "setting up the venv (make setup; about two minutes)"
        (umask 022 && make -C "$SMHP_HOME" setup) # code, not data: readable by the services
    fi
}

# --- settings ------------------------------------------------------------------------------

read_settings() {
    sync_env_file
    SMHP_HTTPS_PORT=${SMHP_HTTPS_PORT:-443}
    SMHP_HTTP_PORT=${SMHP_HTTP_PORT:-80}
    SMHP_DASHBOARD_PORT=${SMHP_DASHBOARD_PORT:-8501}
    SMHP_DASHBOARD_ADDRESS=${SMHP_DASHBOARD_ADDRESS:-127.0.0.1}
    SMHP_ACME_ROOT=${SMHP_ACME_ROOT:-/var/www/smhp-acme}
    if [[ -z ${SMHP_SERVER_NAME:-} ]]; then
        SMHP_SERVER_NAME=$(hostname --fqdn 2>/dev/null || hostname 2>/dev/null || true)
        [[ $SMHP_SERVER_NAME == *[a-zA-Z0-9]* ]] || SMHP_SERVER_NAME=localhost
    fi
    local port
    for port in SMHP_HTTPS_PORT SMHP_HTTP_PORT SMHP_DASHBOARD_PORT; do
        if ! [[ ${!port} =~ ^[0-9]+$ ]] || ((${!port} < 1 || ${!port} > 65535)); then
            die "$port must be a port number, not '${!port}'"
        fi
    done
    [[ $SMHP_SERVER_NAME =~ ^[A-Za-z0-9.-]+$ ]] ||
        die "SMHP_SERVER_NAME must be a host name, not '$SMHP_SERVER_NAME'"
    SMHP_DASHBOARD_PROCESSES=$(dashboard_processes)
    SIGNIN_SLOTS=$(signin_concurrency_per_process) # each process's share of the checks
    ((SMHP_DASHBOARD_PORT + SMHP_DASHBOARD_PROCESSES - 1 <= 65535)) ||
        die "SMHP_DASHBOARD_PORT $SMHP_DASHBOARD_PORT leaves no room for" \
            "$SMHP_DASHBOARD_PROCESSES dashboard ports"
    [[ $SMHP_DASHBOARD_ADDRESS == 127.0.0.1 ]] ||
        die "SMHP_DASHBOARD_ADDRESS must stay 127.0.0.1 behind the proxy," \
            "not '$SMHP_DASHBOARD_ADDRESS'"
    : "${SMHP_WAREHOUSE:?}" "${SMHP_LANDING:?}" "${SMHP_USERS_FILE:?}" "${SMHP_AUDIT_DB:?}"
    SMHP_AUDIT_ANCHOR_FILE=${SMHP_AUDIT_ANCHOR_FILE:-$(dirname "$SMHP_AUDIT_DB")/audit-anchors.log}
    export SMHP_HTTPS_PORT SMHP_HTTP_PORT SMHP_DASHBOARD_PORT SMHP_DASHBOARD_ADDRESS \
        SMHP_DASHBOARD_PROCESSES SMHP_SERVER_NAME SMHP_AUDIT_ANCHOR_FILE
}

# --- TLS -----------------------------------------------------------------------------------

TLS_CERT="" TLS_KEY=""
ensure_certificate() {
    if [[ -n ${SMHP_TLS_CERT:-} || -n ${SMHP_TLS_KEY:-} ]]; then
        [[ -r ${SMHP_TLS_CERT:-} && -r ${SMHP_TLS_KEY:-} ]] ||
            die "SMHP_TLS_CERT and SMHP_TLS_KEY must both name readable PEM files"
        openssl x509 -in "$SMHP_TLS_CERT" -noout -checkend 0 >/dev/null ||
            die "the certificate $SMHP_TLS_CERT has expired (or is not a PEM certificate)"
        TLS_CERT=$SMHP_TLS_CERT TLS_KEY=$SMHP_TLS_KEY
        return
    fi
    local dir="$SMHP_STATE_DIR/tls"
    TLS_CERT="$dir/selfsigned.crt" TLS_KEY="$dir/selfsigned.key"
    install -d -m 0700 "$dir"
    # Kept across runs while it is valid for a month more and names this server.
    if ! { [[ -s $TLS_CERT && -s $TLS_KEY ]] &&
        openssl x509 -in "$TLS_CERT" -noout -checkend 2592000 >/dev/null &&
        openssl x509 -in "$TLS_CERT" -noout -ext subjectAltName 2>/dev/null |
        grep -q "DNS:$SMHP_SERVER_NAME\(,\|$\)"; }; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
            -subj "/CN=$SMHP_SERVER_NAME" \
            -addext "subjectAltName=DNS:$SMHP_SERVER_NAME,DNS:localhost,IP:127.0.0.1" \
            -keyout "$TLS_KEY" -out "$TLS_CERT" 2>/dev/null
        chmod 0600 "$TLS_KEY"
    fi
    warn "no SMHP_TLS_CERT/SMHP_TLS_KEY: using a SELF-SIGNED certificate ($TLS_CERT)."
    warn "browsers will warn; fine for a first trial only. docs/deploy.md: a real certificate."
}

# --- nginx configuration -------------------------------------------------------------------

# render TEMPLATE NAME=VALUE...: the template with every @NAME@ replaced (and none left).
render() {
    local template=$1 text pair name value
    text="$(<"$template")"$'\n'
    shift
    for pair in "$@"; do
        name=${pair%%=*} value=${pair#*=}
        text=${text//"@$name@"/"$value"}
    done
    if [[ $text =~ @[A-Z_0-9]+@ ]]; then
        die "template $template: ${BASH_REMATCH[0]} not rendered"
    fi
    printf '%s' "$text"
}

# The Content-Security-Policy: scripts only from the app itself plus, by hash, the inline
# script(s) of the installed Streamlit's index.html (so an upgrade needs no edit here).
content_security_policy() {
    local hashes
    hashes=$("$VENV_PY" - <<'PY'
import base64, hashlib, re
from pathlib import Path

import streamlit

html = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
inline = re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
print(" ".join(
    "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
    for s in inline
))
PY
)
    local policy=(
        "default-src 'none'"
        # Streamlit's protobuf library tries WebAssembly (and falls back): compile, never eval.
        "script-src 'self' 'wasm-unsafe-eval' $hashes"
        # Its styling library writes <style> elements without a nonce; style attributes stay
        # refused. style-src is the fallback of browsers without the -elem/-attr directives.
        "style-src 'self' 'unsafe-inline'"
        "style-src-elem 'self' 'unsafe-inline'"
        "style-src-attr 'none'"
        # data: images are the SPC icons the app draws; data: fonts are KaTeX's, in its CSS.
        "img-src 'self' data:"
        "font-src 'self' data:"
        "connect-src 'self'" # the app's own WebSocket and fetches
        "base-uri 'none'"
        "form-action 'none'"
        "object-src 'none'"
        "frame-ancestors 'none'"
    )
    local joined
    joined=$(printf '%s; ' "${policy[@]}")
    printf '%s' "${joined%; }"
}

# Powerful browser features the dashboard never uses: off, for it and anything it could load.
PERMISSIONS_POLICY="camera=(), microphone=(), geolocation=(), payment=(), usb=(), midi=()"
PERMISSIONS_POLICY+=", display-capture=()"

# The upstream's server lines: one per dashboard process.
upstream_servers() {
    local port
    for port in $(dashboard_ports); do
        printf '    server 127.0.0.1:%s;\n' "$port"
    done
}

render_nginx_site() {
    local out=$1 suffix="" v6_http="" v6_https="" version
    ((SMHP_HTTPS_PORT == 443)) || suffix=":$SMHP_HTTPS_PORT"
    if [[ -s /proc/net/if_inet6 ]]; then # listen on IPv6 too where the machine has it
        v6_http="    listen [::]:$SMHP_HTTP_PORT default_server;"
        v6_https="    listen [::]:$SMHP_HTTPS_PORT ssl http2 default_server;"
    fi
    version=$("$VENV_PY" -c 'import streamlit; print(streamlit.__version__)')
    render "$DEPLOY_DIR/nginx/smhp.conf" \
        "HTTP_PORT=$SMHP_HTTP_PORT" "HTTPS_PORT=$SMHP_HTTPS_PORT" \
        "HTTPS_PORT_SUFFIX=$suffix" "LISTEN_HTTP_IPV6=$v6_http" "LISTEN_HTTPS_IPV6=$v6_https" \
        "SERVER_NAME=$SMHP_SERVER_NAME" "TLS_CERT=$TLS_CERT" "TLS_KEY=$TLS_KEY" \
        "UPSTREAM_SERVERS=$(upstream_servers)" "STREAMLIT_VERSION=$version" \
        "ACME_ROOT=$SMHP_ACME_ROOT" \
        "CSP=$(content_security_policy)" "PERMISSIONS_POLICY=$PERMISSIONS_POLICY" >"$out"
}

# Whether nothing listens on 127.0.0.1:PORT.
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Wait until URL answers "ok" (Streamlit's health check), or fail; PID, if given, must live.
wait_healthy() {
    local url=$1 pid=${2:-}
    for _ in $(seq 120); do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        if "$VENV_PY" - "$url" <<'PY' 2>/dev/null; then return 0; fi
import ssl, sys, urllib.request

context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the proxy, self-signed
with urllib.request.urlopen(sys.argv[1], timeout=2, context=context) as answer:
    sys.exit(0 if answer.read().strip() == b"ok" else 1)
PY
        sleep 0.5
    done
    return 1
}

# --- systemd: accounts, folders, keys, units -----------------------------------------------

# make_dir MODE OWNER GROUP DIR: DIR with that mode and owner (missing parents root:smhp
# 0750, so the two accounts can reach it and nobody else can list it).
make_dir() {
    local mode=$1 owner=$2 group=$3 dir=$4 parent
    parent=$(dirname "$dir")
    if [[ ! -d $parent ]]; then make_dir 0750 root smhp "$parent"; fi
    install -d -m "$mode" -o "$owner" -g "$group" "$dir"
}

ensure_accounts() {
    getent group smhp >/dev/null || groupadd --system smhp
    local account
    for account in smhp smhp-web; do
        id -u "$account" >/dev/null 2>&1 ||
            useradd --system --gid smhp --home-dir /nonexistent --no-create-home \
                --shell /usr/sbin/nologin "$account"
    done
}

# Each folder gets its own owner and mode, recursively: two settings naming one folder,
# or a folder like /etc or /srv, would hand it to the wrong account. Refused.
check_folders() {
    local -A seen=()
    local name dir
    for name in SMHP_ETC_DIR WAREHOUSE LANDING AUDIT ANCHOR USERS; do
        case $name in
            SMHP_ETC_DIR) dir=$SMHP_ETC_DIR ;;
            WAREHOUSE) dir=$(dirname "$SMHP_WAREHOUSE") ;;
            LANDING) dir=$SMHP_LANDING ;;
            AUDIT) dir=$(dirname "$SMHP_AUDIT_DB") ;;
            ANCHOR) dir=$(dirname "$SMHP_AUDIT_ANCHOR_FILE") ;;
            USERS) dir=$(dirname "$SMHP_USERS_FILE") ;;
        esac
        dir=$(realpath -m "$dir")
        [[ $dir == /*/* && $dir != /home/* && $dir != /root/* ]] ||
            die "the $name folder is $dir: give it one of its own, e.g. under /srv/smhp" \
                "(in $SMHP_ENV_FILE)"
        [[ -z ${seen[$dir]:-} ]] ||
            die "the $name and ${seen[$dir]} folders are both $dir: give each its own" \
                "(in $SMHP_ENV_FILE)"
        seen[$dir]=$name
    done
}

ensure_folders() {
    check_folders
    make_dir 0750 root smhp "$SMHP_ETC_DIR"
    chown root:smhp "$SMHP_ENV_FILE" && chmod 0640 "$SMHP_ENV_FILE"
    # The published warehouse: written by smhp, read by the group (smhp-web).
    make_dir 0750 smhp smhp "$(dirname "$SMHP_WAREHOUSE")"
    chown -R smhp:smhp "$(dirname "$SMHP_WAREHOUSE")"
    chmod -R u+rwX,g+rX,g-w,o-rwx "$(dirname "$SMHP_WAREHOUSE")"
    # Landing files hold raw NHS numbers: the account smhp alone.
    make_dir 0700 smhp smhp "$SMHP_LANDING"
    chown -R smhp:smhp "$SMHP_LANDING" && chmod -R go-rwx "$SMHP_LANDING"
    if [[ -n ${SMHP_LANDING_ARCHIVE:-} ]]; then make_dir 0700 smhp smhp "$SMHP_LANDING_ARCHIVE"; fi
    # The audit log: appended by the dashboard (smhp-web), sealed and pruned by smhp. The
    # database is made group-writable before SQLite first opens it (its WAL files copy its
    # mode); the folder's setgid bit keeps every file in group smhp.
    make_dir 2770 smhp-web smhp "$(dirname "$SMHP_AUDIT_DB")"
    if [[ ! -e $SMHP_AUDIT_DB ]]; then
        install -m 0660 -o smhp-web -g smhp /dev/null "$SMHP_AUDIT_DB"
    fi
    chown -R smhp-web:smhp "$(dirname "$SMHP_AUDIT_DB")"
    chmod -R ug+rwX,o-rwx "$(dirname "$SMHP_AUDIT_DB")"
    # The seals' anchors: smhp appends them; the dashboard's unit cannot even see them.
    make_dir 0750 smhp smhp "$(dirname "$SMHP_AUDIT_ANCHOR_FILE")"
    # The dashboard's users (smhp users add ... as smhp-web; the file is 0600).
    make_dir 0750 smhp-web smhp "$(dirname "$SMHP_USERS_FILE")"
    if [[ -e $SMHP_USERS_FILE ]]; then
        chown smhp-web:smhp "$SMHP_USERS_FILE" && chmod 0600 "$SMHP_USERS_FILE"
    fi
}

ensure_keys() {
    local name file
    for name in pseudonym audit; do
        file="$SMHP_ETC_DIR/$name.key"
        if [[ ! -e $file ]]; then
            if [[ $name == pseudonym ]]; then
                "$SMHP_BIN" keygen --out "$file" >/dev/null
            else
                "$SMHP_BIN" audit keygen --out "$file" >/dev/null
            fi
            say "new $name key: $file (keep a copy in a safe; docs/deploy.md)"
        fi
        chown smhp:smhp "$file" && chmod 0600 "$file"
    done
}

install_units() {
    local unit archive_rw=""
    if [[ -n ${SMHP_LANDING_ARCHIVE:-} ]]; then archive_rw=$SMHP_LANDING_ARCHIVE; fi
    for unit in "${UNITS[@]}"; do
        render "$DEPLOY_DIR/systemd/$unit" \
            "SMHP_HOME=$SMHP_HOME" "ENV_FILE=$SMHP_ENV_FILE" "ETC_DIR=$SMHP_ETC_DIR" \
            "WAREHOUSE_DIR=$(dirname "$SMHP_WAREHOUSE")" "LANDING=$SMHP_LANDING" \
            "AUDIT_DIR=$(dirname "$SMHP_AUDIT_DB")" \
            "ANCHOR_DIR=$(dirname "$SMHP_AUDIT_ANCHOR_FILE")" \
            "USERS_DIR=$(dirname "$SMHP_USERS_FILE")" "LANDING_ARCHIVE_RW=$archive_rw" \
            "SIGNIN_CONCURRENCY=$SIGNIN_SLOTS" \
            >"$SYSTEMD_DIR/$unit"
        chmod 0644 "$SYSTEMD_DIR/$unit"
    done
    systemctl daemon-reload
}

# The services run the repo's venv as smhp and smhp-web, with /home and /root hidden.
check_code_reachable() {
    case $SMHP_HOME in
        /home/* | /root/* | /run/user/*)
            die "the repo is under $SMHP_HOME, which the services cannot see (ProtectHome):" \
                "clone it to e.g. /opt/smhp and run deploy/up.sh from there" ;;
    esac
    runuser -u smhp-web -- "$VENV_PY" -c 'import smhp' 2>/dev/null ||
        die "the account smhp-web cannot run $VENV_PY (its Python must be readable by" \
            "every account, e.g. Debian's python3: rm -rf .venv and run deploy/up.sh again)"
}

up_systemd() {
    [[ $EUID -eq 0 ]] || die "with systemd, run deploy/up.sh as root"
    ensure_accounts
    check_code_reachable
    ensure_folders
    ensure_keys
    install_units
    restart_dashboard_units
    systemctl restart "${TIMERS[@]}"
    install -d -m 0755 "$SMHP_ACME_ROOT" # certbot --webroot writes its challenges here
    render_nginx_site "$NGINX_SITE"
    chmod 0644 "$NGINX_SITE"
    ln -sf "$NGINX_SITE" "$NGINX_ENABLED"
    if [[ -L /etc/nginx/sites-enabled/default ]]; then # Debian's welcome page on port 80
        rm /etc/nginx/sites-enabled/default
        say "disabled nginx's default site (it would take port $SMHP_HTTP_PORT)"
    fi
    nginx -t -q
    systemctl enable --quiet nginx.service
    systemctl reload-or-restart nginx.service
    local port
    for port in $(dashboard_ports); do
        wait_healthy "http://127.0.0.1:$port/_stcore/health" ||
            die "the dashboard on port $port did not come up: journalctl -u smhp-dashboard@$port"
    done
}

# One smhp-dashboard@PORT per process, enabled and restarted; any other instance (fewer
# processes than last time) and the single unit of an older layout stopped and disabled.
restart_dashboard_units() {
    local wanted=() unit port
    for port in $(dashboard_ports); do wanted+=("smhp-dashboard@$port.service"); done
    for unit in smhp-dashboard.service $(systemctl list-units --all --plain --no-legend \
        'smhp-dashboard@*.service' | awk '{print $1}'); do
        [[ " ${wanted[*]} " == *" $unit "* ]] || systemctl disable --now --quiet "$unit" 2>/dev/null || true
    done
    rm -f "$SYSTEMD_DIR/smhp-dashboard.service"
    systemctl daemon-reload
    systemctl enable --quiet "${wanted[@]}" "${TIMERS[@]}"
    systemctl restart "${wanted[@]}"
}

# --- background: no systemd ----------------------------------------------------------------

up_background() {
    stop_background # a second run restarts cleanly
    install -d -m 0750 "$SMHP_STATE_DIR" "$RUN_DIR" "$LOG_DIR" "$NGINX_DIR" "$NGINX_DIR/tmp"
    install -d -m 0750 "$(dirname "$SMHP_AUDIT_DB")" "$(dirname "$SMHP_USERS_FILE")"
    [[ -e $SMHP_WAREHOUSE ]] ||
        warn "no published warehouse at $SMHP_WAREHOUSE yet: run smhp nightly first"

    # The dashboards, each in a session of its own (down.sh stops each whole group), on
    # their own port; never with a key.
    local port pid
    for port in $(dashboard_ports); do
        port_free "$port" || die "port $port (a dashboard's) is taken: choose SMHP_DASHBOARD_PORT"
        (
            cd "$SMHP_HOME"
            exec setsid env -u SMHP_PSEUDONYM_KEY -u SMHP_PSEUDONYM_KEY_FILE \
                -u SMHP_AUDIT_KEY_FILE SMHP_SIGNIN_CONCURRENCY="$SIGNIN_SLOTS" \
                "$SMHP_BIN" dashboard --port "$port" </dev/null >>"$LOG_DIR/dashboard-$port.log" 2>&1
        ) &
        echo $! >"$RUN_DIR/dashboard-$port.pid"
    done
    for port in $(dashboard_ports); do
        pid=$(<"$RUN_DIR/dashboard-$port.pid")
        wait_healthy "http://127.0.0.1:$port/_stcore/health" "$pid" ||
            die "the dashboard on port $port did not come up: $LOG_DIR/dashboard-$port.log"
    done

    local user_line=""
    if [[ $EUID -eq 0 ]]; then # workers drop root
        if id -u www-data >/dev/null 2>&1; then
            user_line="user www-data;"
        else
            user_line="user nobody nogroup;"
        fi
    fi
    render_nginx_site "$NGINX_DIR/smhp.conf"
    render "$DEPLOY_DIR/nginx/standalone.conf" "USER_LINE=$user_line" \
        "NGINX_DIR=$NGINX_DIR" "LOG_DIR=$LOG_DIR" >"$NGINX_DIR/nginx.conf"
    local nginx=(/usr/sbin/nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf"
        -e "$LOG_DIR/nginx-error.log")
    "${nginx[@]}" -t -q </dev/null >>"$LOG_DIR/nginx-error.log" 2>&1 ||
        die "nginx refused its configuration: $LOG_DIR/nginx-error.log"
    "${nginx[@]}" </dev/null >>"$LOG_DIR/nginx-error.log" 2>&1 ||
        die "nginx did not start: $LOG_DIR/nginx-error.log"
    for _ in $(seq 50); do
        if [[ -s $NGINX_DIR/nginx.pid ]]; then break; fi
        sleep 0.1
    done
    cp "$NGINX_DIR/nginx.pid" "$RUN_DIR/nginx.pid"
}

# --- main ----------------------------------------------------------------------------------

ensure_software
read_settings
ensure_certificate
if [[ $SMHP_DEPLOY_MODE == systemd ]]; then up_systemd; else up_background; fi

suffix=""
((SMHP_HTTPS_PORT == 443)) || suffix=":$SMHP_HTTPS_PORT"
wait_healthy "https://127.0.0.1:$SMHP_HTTPS_PORT/_stcore/health" ||
    die "nginx does not answer on port $SMHP_HTTPS_PORT"
say "up ($SMHP_DEPLOY_MODE, $SMHP_DASHBOARD_PROCESSES dashboard processes): https://$SMHP_SERVER_NAME$suffix/"
say "settings: $SMHP_ENV_FILE"
if [[ $SMHP_DEPLOY_MODE == systemd ]]; then
    say "timers: systemctl list-timers 'smhp-*'; logs: journalctl -u 'smhp-dashboard@*'"
    [[ -s $SMHP_USERS_FILE ]] || say "no users yet: runuser -u smhp-web -- env" \
        "SMHP_USERS_FILE=$SMHP_USERS_FILE $SMHP_BIN users add NAME --role admin"
    say "stop: $DEPLOY_DIR/down.sh"
else
    say "logs: $LOG_DIR"
    say "stop: SMHP_STATE_DIR=$SMHP_STATE_DIR $DEPLOY_DIR/down.sh"
fi

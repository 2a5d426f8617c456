# shellcheck shell=bash disable=SC2034  # the names defined here are used by up.sh, down.sh
# What deploy/up.sh and deploy/down.sh share: the settings with their defaults, the mode
# (systemd or background) and small helpers. Sourced, never run.
#
# Every setting is an environment variable; docs/deploy.md lists them. The SMHP_* settings
# of the app itself are kept in one environment file (SMHP_ENV_FILE), created from
# deploy/smhp.env.example on the first run; a setting given in the environment of a later
# run is written into it, so the file always says what runs.

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SMHP_HOME=$(cd "$DEPLOY_DIR/.." && pwd)
SMHP_BIN="$SMHP_HOME/.venv/bin/smhp"
VENV_PY="$SMHP_HOME/.venv/bin/python"

# auto: systemd when PID 1 is systemd (a real machine), else background (containers, CI).
SMHP_DEPLOY_MODE=${SMHP_DEPLOY_MODE:-auto}
if [[ $SMHP_DEPLOY_MODE == auto ]]; then
    if [[ -d /run/systemd/system && $(cat /proc/1/comm 2>/dev/null) == systemd ]]; then
        SMHP_DEPLOY_MODE=systemd
    else
        SMHP_DEPLOY_MODE=background
    fi
fi
case $SMHP_DEPLOY_MODE in
    systemd | background) ;;
    *)
        echo "SMHP_DEPLOY_MODE must be auto, systemd or background, not '$SMHP_DEPLOY_MODE'" >&2
        exit 2
        ;;
esac

# The deployment's own folder: the self-signed certificate and, in background mode, the
# rendered nginx configuration, pid files and logs.
SMHP_STATE_DIR=${SMHP_STATE_DIR:-/var/lib/smhp-deploy}
# Configuration and secrets (systemd mode): the environment file, the keys, access.toml.
SMHP_ETC_DIR=${SMHP_ETC_DIR:-/etc/smhp}
if [[ $SMHP_DEPLOY_MODE == systemd ]]; then
    SMHP_ENV_FILE=${SMHP_ENV_FILE:-$SMHP_ETC_DIR/smhp.env}
else
    SMHP_ENV_FILE=${SMHP_ENV_FILE:-$SMHP_STATE_DIR/smhp.env}
fi
RUN_DIR="$SMHP_STATE_DIR/run"
LOG_DIR="$SMHP_STATE_DIR/logs"
NGINX_DIR="$SMHP_STATE_DIR/nginx"
SYSTEMD_DIR=/etc/systemd/system
UNITS=(smhp-dashboard@.service smhp-nightly.service smhp-nightly.timer
    smhp-retention.service smhp-retention.timer smhp-audit-seal.service smhp-audit-seal.timer)
TIMERS=(smhp-nightly.timer smhp-retention.timer smhp-audit-seal.timer)
NGINX_SITE=/etc/nginx/sites-available/smhp.conf
NGINX_ENABLED=/etc/nginx/sites-enabled/smhp.conf

say() { printf 'smhp deploy: %s\n' "$*"; }
warn() { printf 'smhp deploy: WARNING: %s\n' "$*" >&2; }
die() {
    printf 'smhp deploy: %s\n' "$*" >&2
    exit 1
}

# The settings of the environment file: every NAME= or "# NAME=" line of the example.
env_names() {
    sed -nE 's/^#? ?(SMHP_[A-Z0-9_]+)=.*/\1/p' "$DEPLOY_DIR/smhp.env.example" | sort -u
}

# The environment file: created from the example on the first run; each setting the
# caller gives in the environment is written into it (a later run keeps what an earlier
# run or an administrator wrote, unless told otherwise); then loaded, exported.
sync_env_file() {
    local name value line tmp
    if [[ ! -f $SMHP_ENV_FILE ]]; then
        install -D -m 0640 "$DEPLOY_DIR/smhp.env.example" "$SMHP_ENV_FILE"
    fi
    for name in $(env_names); do
        [[ -n ${!name+x} ]] || continue
        value=${!name}
        [[ $value =~ ^[A-Za-z0-9_./:@,+=-]*$ ]] ||
            die "$name holds a character the environment file cannot keep: use a plain path or word"
        line="$name=$value"
        tmp=$(mktemp "$SMHP_ENV_FILE.XXXXXX")
        if grep -qE "^#? ?$name=" "$SMHP_ENV_FILE"; then
            awk -v name="$name" -v line="$line" \
                '$0 ~ "^#? ?" name "=" && !done { print line; done = 1; next } { print }' \
                "$SMHP_ENV_FILE" >"$tmp"
        else
            cat "$SMHP_ENV_FILE" >"$tmp"
            printf '%s\n' "$line" >>"$tmp"
        fi
        chmod --reference="$SMHP_ENV_FILE" "$tmp"
        chown --reference="$SMHP_ENV_FILE" "$tmp" 2>/dev/null || true
        mv "$tmp" "$SMHP_ENV_FILE"
    done
    set -a
    # shellcheck disable=SC1090
    . "$SMHP_ENV_FILE"
    set +a
}

# Stop a process group started by up.sh in background mode (its pid file names the leader).
stop_pidfile() {
    local file=$1 signal=${2:-TERM} pid
    [[ -f $file ]] || return 0
    pid=$(<"$file")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$file"
}

# Background mode: stop nginx, then every dashboard (each a process group of its own;
# dashboard.pid is the single dashboard of an older layout).
stop_background() {
    local file
    stop_pidfile "$RUN_DIR/nginx.pid" TERM
    for file in "$RUN_DIR"/dashboard.pid "$RUN_DIR"/dashboard-*.pid; do
        stop_pidfile "$file" TERM
    done
}

# --- several dashboard processes (docs/deploy.md: the layout) ----------------------------

# The number of dashboard processes: SMHP_DASHBOARD_PROCESSES, by default the number of
# cores and at least 2 (a Streamlit server runs its pages on one core at a time).
dashboard_processes() {
    local n=${SMHP_DASHBOARD_PROCESSES:-}
    if [[ -z $n ]]; then
        n=$(nproc 2>/dev/null || echo 2)
        ((n >= 2)) || n=2
    fi
    if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 64)); then
        die "SMHP_DASHBOARD_PROCESSES must be a number from 1 to 64, not '$n'"
    fi
    printf '%s' "$n"
}

# The dashboards' ports: SMHP_DASHBOARD_PROCESSES consecutive ports from SMHP_DASHBOARD_PORT.
dashboard_ports() {
    local first=${SMHP_DASHBOARD_PORT:-8501} n
    n=$(dashboard_processes)
    seq "$first" $((first + n - 1))
}

# Password checks at once per process: SMHP_SIGNIN_CONCURRENCY is the machine's total
# (argon2 takes 64 MiB and a core for a moment), shared out between the processes, at
# least one each. The other sign-in limits are counted in the shared audit log already.
signin_concurrency_per_process() {
    local total=${SMHP_SIGNIN_CONCURRENCY:-2} n
    n=$(dashboard_processes)
    [[ $total =~ ^[0-9]+$ ]] && ((total >= 1)) ||
        die "SMHP_SIGNIN_CONCURRENCY must be a whole number of at least 1, not '$total'"
    ((total / n >= 1)) && printf '%s' $((total / n)) || printf '1'
}

#!/usr/bin/env bash
# smhp: stop what deploy/up.sh started (docs/deploy.md). Data, settings and keys stay.
#
# Background mode (no systemd): stops the nginx and every `smhp dashboard` of the pid files
# under SMHP_STATE_DIR (give the same SMHP_STATE_DIR as to up.sh). With systemd: stops and
# disables every dashboard unit (smhp-dashboard@PORT) and the timers, and takes the site out
# of nginx.
set -euo pipefail

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ $SMHP_DEPLOY_MODE == systemd ]]; then
    [[ $EUID -eq 0 ]] || die "with systemd, run deploy/down.sh as root"
    mapfile -t dashboards < <(systemctl list-units --all --plain --no-legend \
        'smhp-dashboard@*.service' 'smhp-dashboard.service' | awk '{print $1}')
    systemctl disable --now --quiet "${dashboards[@]}" "${TIMERS[@]}" || true
    if [[ -L $NGINX_ENABLED ]]; then
        rm "$NGINX_ENABLED"
        systemctl reload nginx.service || true
    fi
    say "stopped: the dashboards and the timers are disabled, nginx no longer serves smhp"
    say "again: deploy/up.sh"
else
    stop_background
    say "stopped (state folder $SMHP_STATE_DIR kept)"
fi

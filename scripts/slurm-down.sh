#!/usr/bin/env bash
# Stop the one-node Slurm cluster that scripts/slurm-up.sh started: slurmctld + slurmd (scontrol
# shutdown), then slurmdbd, MariaDB and munged, each by the process id in its pid file (or, without
# one, by exact daemon name).  Safe to run when nothing is up.
set -euo pipefail

say() { echo "slurm-down: $*"; }

if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n bash "$0" "$@"
    fi
    echo "slurm-down: ERROR: must run as root" >&2; exit 1
fi

# pids NAME PIDFILE: the daemon's pid from its pid file if that process is alive, else by exact name
pids() {
    local p
    if [[ -s $2 ]] && p=$(tr -dc 0-9 <"$2") && [[ -n $p ]] && kill -0 "$p" 2>/dev/null; then
        echo "$p"
    else
        pgrep -x "$1" || true
    fi
}

# stop NAME PIDFILE: SIGTERM, wait up to 20 s, then SIGKILL
stop() {
    local name=$1 list
    list=$(pids "$1" "$2" | tr '\n' ' ')
    [[ -n ${list// /} ]] || return 0
    # shellcheck disable=SC2086
    kill $list 2>/dev/null || true
    for _ in $(seq 40); do
        # shellcheck disable=SC2086
        kill -0 $list 2>/dev/null || { say "stopped $name ($list)"; return 0; }
        sleep 0.5
    done
    # shellcheck disable=SC2086
    kill -9 $list 2>/dev/null || true
    say "killed $name ($list)"
}

if command -v scontrol >/dev/null 2>&1 && [[ -n $(pids slurmctld /run/slurm/slurmctld.pid) ]]; then
    timeout 20 scontrol shutdown >/dev/null 2>&1 || true
    for _ in $(seq 40); do
        [[ -z $(pids slurmctld /run/slurm/slurmctld.pid)$(pids slurmd /run/slurm/slurmd.pid) ]] && break
        sleep 0.5
    done
fi
stop slurmctld /run/slurm/slurmctld.pid   # whatever scontrol shutdown left
stop slurmd /run/slurm/slurmd.pid
stop slurmdbd /run/slurm/slurmdbd.pid
stop mariadbd /run/mysqld/mysqld.pid        # a clean (SIGTERM) shutdown also ends its mysqld_safe
stop mysqld_safe /run/slurm/mysqld_safe.pid
stop munged /run/munge/munged.pid
say "down"

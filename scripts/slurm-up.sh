#!/usr/bin/env bash
# Start a real one-node Slurm cluster on this machine, with job accounting (sacct), as root:
# munge, MariaDB + slurmdbd, slurmctld, slurmd.  Idempotent: returns at once when the cluster is up.
# What it starts and why, and its measured times: docs/cluster.md, docs/benchmarks.md ("Clusters").
# Stop it with scripts/slurm-down.sh.
# Environment: SLURM_CLUSTER (default xlt), SLURM_WAIT_S (default 60), SLURM_MEM_MARGIN_MB (default 1024).
set -euo pipefail

CLUSTER=${SLURM_CLUSTER:-xlt}
WAIT_S=${SLURM_WAIT_S:-60}
MEM_MARGIN_MB=${SLURM_MEM_MARGIN_MB:-1024}
HOST=$(hostname -s)
CONF_DIR=/etc/slurm
LOG_DIR=/var/log/slurm
CTLD_LOG=$LOG_DIR/slurmctld.log
SLURMD_LOG=$LOG_DIR/slurmd.log
DBD_LOG=$LOG_DIR/slurmdbd.log
MYSQL_LOG=$LOG_DIR/mysqld.log
DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=slurmdbpass   # local socket-only test database; not a secret worth protecting
T0=$(date +%s)

say() { echo "slurm-up: $*"; }
die() { echo "slurm-up: ERROR: $*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION LOGFILE COMMAND...: poll COMMAND every 0.5 s until it succeeds
wait_for() {
    local secs=$1 what=$2 log=$3; shift 3
    local end=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        if (( $(date +%s) >= end )); then
            [[ -f $log ]] && { echo "--- last lines of $log:" >&2; tail -n 15 "$log" >&2; }
            die "$what not ready after ${secs}s; see $log"
        fi
        sleep 0.5
    done
}

node_state() { timeout 10 sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n1; }
node_ready() { [[ $(node_state) =~ ^(idle|mixed|allocated|completing)$ ]]; }

# --- fast path: already up -------------------------------------------------------------------
if command -v sinfo >/dev/null 2>&1 && [[ -f $CONF_DIR/slurm.conf ]] \
   && timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP' && node_ready; then
    say "already up: node $HOST $(node_state), cluster $CLUSTER"
    exit 0
fi

if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n -E bash "$0" "$@"
    fi
    die "must run as root (or with password-less sudo) to start Slurm"
fi

# --- packages --------------------------------------------------------------------------------
PKGS=(slurm-wlm munge mariadb-server slurmdbd)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]} (apt-get, about 1-2 min)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd /run/slurm

# --- munge -----------------------------------------------------------------------------------
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
chmod 700 /etc/munge; chmod 400 /etc/munge/munge.key; chmod 755 /run/munge
munge_ok() { munge -n | unmunge | grep -q 'STATUS: *Success'; }
if ! munge_ok 2>/dev/null; then
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged </dev/null
    wait_for 15 munged /var/log/munge/munged.log munge_ok
fi

# --- MariaDB ---------------------------------------------------------------------------------
mysql_ok() { mysqladmin --protocol=socket -uroot ping; }
if ! mysql_ok >/dev/null 2>&1; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    touch "$MYSQL_LOG" && chown mysql:mysql "$MYSQL_LOG"
    [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql >/dev/null
    setsid mysqld_safe --log-error="$MYSQL_LOG" </dev/null >/dev/null 2>&1 &
    echo $! >/run/slurm/mysqld_safe.pid
    wait_for 60 MariaDB "$MYSQL_LOG" mysql_ok
fi
mysql --protocol=socket -uroot <<SQL
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL

# --- slurmdbd --------------------------------------------------------------------------------
cat > "$CONF_DIR/slurmdbd.conf" <<EOF
# written by scripts/slurm-up.sh
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
LogFile=$DBD_LOG
PidFile=/run/slurm/slurmdbd.pid
EOF
chmod 600 "$CONF_DIR/slurmdbd.conf"

# --- slurm.conf (only rewritten while slurmctld is down) ---------------------------------------
CPUS=$(nproc)
avail_mb=$(awk '/^MemAvailable:/ {print int($2/1024)}' /proc/meminfo)
REAL_MB=$(( avail_mb - MEM_MARGIN_MB ))
(( REAL_MB >= 500 )) || REAL_MB=500
if ! pgrep -x slurmctld >/dev/null; then
    cat > "$CONF_DIR/slurm.conf" <<EOF
# written by scripts/slurm-up.sh for host $HOST: a one-node test cluster
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
# cred_expire is also how long a requeued job is held (EligibleTime = requeue + cred_expire + 1 s;
# default 120 s): short here so requeue tests take seconds, not minutes
AuthInfo=cred_expire=5
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
ReturnToService=2
JobRequeue=1
# quick tests: 2 s between SIGTERM and SIGKILL (default 30), finished jobs stay in squeue 300 s,
# no batch scheduling delay, a backfill pass every second, and a full scheduling pass every 2 s
# (default 60 s: on an idle cluster a requeued job whose hold has passed waited a whole minute, as
# the passing of its EligibleTime is no scheduling event)
KillWait=2
MinJobAge=300
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,batch_sched_delay=0,sched_interval=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
fi

if ! pgrep -x slurmdbd >/dev/null; then
    /usr/sbin/slurmdbd </dev/null >>"$DBD_LOG" 2>&1
fi
wait_for 60 slurmdbd "$DBD_LOG" sacctmgr -n list cluster
if ! sacctmgr -n -P list cluster format=Cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi

# --- slurmctld + slurmd --------------------------------------------------------------------------
if ! pgrep -x slurmctld >/dev/null; then
    /usr/sbin/slurmctld </dev/null >>"$CTLD_LOG" 2>&1
fi
ctld_up() { timeout 10 scontrol ping | grep -q 'is UP'; }
wait_for "$WAIT_S" slurmctld "$CTLD_LOG" ctld_up
if ! pgrep -x slurmd >/dev/null; then
    /usr/sbin/slurmd </dev/null >>"$SLURMD_LOG" 2>&1
fi

# a node left down/drained by an earlier run comes back
end=$(( $(date +%s) + WAIT_S ))
until node_ready; do
    st=$(node_state || true)
    if [[ $st == *drain* || $st == down* ]]; then
        scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
    fi
    if (( $(date +%s) >= end )); then
        echo "--- last lines of $SLURMD_LOG:" >&2; tail -n 15 "$SLURMD_LOG" >&2 || true
        die "node $HOST is '${st:-unknown}', not idle, after ${WAIT_S}s; see $SLURMD_LOG and $CTLD_LOG"
    fi
    sleep 0.5
done

say "up in $(( $(date +%s) - T0 ))s: cluster $CLUSTER, node $HOST $(node_state), CPUs=$CPUS RealMemory=${REAL_MB}MB, accounting via slurmdbd, logs in $LOG_DIR"

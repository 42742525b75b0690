#!/usr/bin/env bash
# A throwaway single-node Slurm cluster for integration tests, everything under one folder.
#
#   slurm-cluster.sh install                    apt-get the Debian packages unless already there
#   slurm-cluster.sh start DIR [--no-accounting] [--min-job-age SECONDS] [--cgroup-memory]
#                                               write configs under DIR, start the daemons, wait
#                                               for the node to be idle, print `export ...` lines
#   slurm-cluster.sh stop DIR                   cancel the jobs, stop the daemons by their PIDs
#
# What runs: slurmctld and slurmd (auth/none, cred/none: no munge), and with accounting also
# MariaDB (private datadir, loopback TCP, --skip-grant-tables) and slurmdbd, because Slurm 22.05
# has no file-based accounting storage: `sacct` only works through slurmdbd. Every daemon runs
# in the foreground (-D) as a background process of this script, detached with setsid, with its
# pid in DIR/run/NAME.pid and its log in DIR/log/NAME.log. Nothing is written outside DIR.
#
# Memory: by default jobacct_gather/linux samples every second and kills a step over its --mem
# (the job ends FAILED, exit code 0:9, "exceeded memory limit" in its output). Slurm only
# reports OUT_OF_MEMORY from cgroup OOM events: --cgroup-memory switches to task/cgroup with
# cgroup v1 (needs a writable /sys/fs/cgroup/memory; Slurm then creates /sys/fs/cgroup/*/slurm_HOST,
# which stop removes again).
set -euo pipefail

die() {
    printf 'slurm-cluster: %s\n' "$*" >&2
    exit 1
}
note() { printf 'slurm-cluster: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# install

cmd_install() {
    local -a need=(slurmctld slurmd sbatch sacct sacctmgr squeue scancel scontrol sinfo slurmdbd mariadbd mariadb)
    local missing=()
    local c
    for c in "${need[@]}"; do
        command -v "$c" >/dev/null 2>&1 || [[ -x /usr/sbin/$c ]] || missing+=("$c")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        note "already installed: $(slurmctld -V 2>/dev/null || echo slurm)"
        return 0
    fi
    note "missing: ${missing[*]}; installing the Debian packages"
    command -v apt-get >/dev/null 2>&1 || die "cannot install: apt-get not found (not a Debian system?)"
    [[ $(id -u) -eq 0 ]] || die "cannot install: apt-get needs root (run as root or install slurmctld slurmd slurm-client slurmdbd mariadb-server yourself)"
    local -a pkgs=(slurmctld slurmd slurm-client slurmdbd mariadb-server)
    local -a apt=(apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0)
    export DEBIAN_FRONTEND=noninteractive
    if ! "${apt[@]}" "${pkgs[@]}" >&2; then
        note "install failed; running apt-get update and trying again"
        apt-get update -q >&2 || die "cannot install: apt-get update failed (no network to the Debian mirror?)"
        "${apt[@]}" "${pkgs[@]}" >&2 || die "cannot install: apt-get install ${pkgs[*]} failed"
    fi
    for c in "${need[@]}"; do
        command -v "$c" >/dev/null 2>&1 || [[ -x /usr/sbin/$c ]] || die "installed, but $c is still missing"
    done
    # Where no policy-rc.d stops them, the packages may have started their system services.
    local running
    running=$(ps -eo comm= | grep -xE 'munged|mariadbd|slurmctld|slurmd|slurmdbd' | sort -u | tr '\n' ' ' || true)
    [[ -z $running ]] || note "note: running after the install (system services?): $running"
    note "installed: $(slurmctld -V)"
}

# ---------------------------------------------------------------------------------------------
# helpers

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Four consecutive free ports: slurmctld, slurmd, slurmdbd, mariadb. Random bases, a few tries, so
# a stale cluster from a killed test (still listening on its ports) never gets in the way.
pick_ports() {
    local try base p ok
    for try in $(seq 1 40); do
        base=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        ok=1
        for p in $base $((base + 1)) $((base + 2)) $((base + 3)); do
            if port_busy "$p"; then
                ok=0
                break
            fi
        done
        if [[ $ok -eq 1 ]]; then
            echo "$base"
            return 0
        fi
    done
    die "no four free consecutive TCP ports found on 127.0.0.1"
}

pid_of() {
    local f="$DIR/run/$1.pid"
    [[ -s $f ]] || return 1
    local pid
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    echo "$pid"
}

alive() { kill -0 "$1" 2>/dev/null; }

# Starts "$@" detached (own session, no inherited stdio) with the cluster marker in its
# environment; records its pid in DIR/run/$name.pid.
launch() {
    local name=$1
    shift
    RUNG_SLURM_CLUSTER="$DIR" SLURM_CONF="$DIR/slurm.conf" \
        setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
    echo $! >"$DIR/run/$name.pid"
}

# Waits up to $1 seconds for "${@:2}" to succeed; fails if daemon $name died meanwhile.
wait_for() {
    local name=$1 secs=$2
    shift 2
    local deadline=$((SECONDS + secs)) pid
    pid=$(pid_of "$name") || die "$name has no pid file"
    until "$@" >/dev/null 2>&1; do
        if ! alive "$pid"; then
            note "$name (pid $pid) exited; last lines of its logs:"
            tail -n 20 "$DIR/log/$name".* >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            note "$name not ready after ${secs}s; last lines of its logs:"
            tail -n 20 "$DIR/log/$name".* >&2 || true
            return 1
        fi
        sleep 0.2
    done
}

node_idle() {
    local state
    state=$(SLURM_CONF="$DIR/slurm.conf" sinfo -h -N -o '%T' 2>/dev/null) || return 1
    [[ $state == idle ]]
}

sacct_ok() { SLURM_CONF="$DIR/slurm.conf" sacct -n -X -a -S now-1minute >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# start

write_configs() {
    local accounting=$1 min_job_age=$2 base=$3 cgroup=$4
    local host node_line mem_total mem
    host=$(hostname -s)
    CTLD_PORT=$base
    SLURMD_PORT=$((base + 1))
    DBD_PORT=$((base + 2))
    DB_PORT=$((base + 3))

    # The node as slurmd sees it (CPUs, sockets, cores, threads), with RealMemory lowered to
    # leave headroom for the system: 10% or 512 MB, whichever is more.
    node_line=$(slurmd -C 2>/dev/null | head -n 1) || die "slurmd -C failed"
    mem_total=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    mem=$((mem_total - (mem_total / 10 > 512 ? mem_total / 10 : 512)))
    ((mem > 256)) || mem=256
    node_line=$(sed -E "s/^NodeName=[^ ]+/NodeName=$host/; s/RealMemory=[0-9]+/RealMemory=$mem/" <<<"$node_line")
    [[ $node_line == *RealMemory=* ]] || node_line+=" RealMemory=$mem"

    local acct_lines
    if [[ $accounting == yes ]]; then
        acct_lines="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT"
    else
        acct_lines="AccountingStorageType=accounting_storage/none"
    fi

    local task_plugin=task/none over_memory=OverMemoryKill
    if [[ $cgroup == yes ]]; then
        task_plugin=task/cgroup
        # Slurm refuses two memory enforcers at once.
        over_memory=NoOverMemoryKill
        cat >"$DIR/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
CgroupAutomount=no
ConstrainRAMSpace=yes
ConstrainSwapSpace=no
EOF
    fi

    cat >"$DIR/slurm.conf" <<EOF
# Written by scripts/slurm-cluster.sh: a single-node test cluster, everything under $DIR.
ClusterName=rungtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
MpiDefault=none
ProctrackType=proctrack/pgid
TaskPlugin=$task_plugin
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
# Without a default every job would ask for the whole node's memory and they would run one by one.
DefMemPerCPU=256
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/plugstack.conf
# Fast turnaround: no grace after a time limit, a short SIGTERM-to-SIGKILL wait.
OverTimeLimit=0
KillWait=2
InactiveLimit=0
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
# How long a finished job stays visible to squeue/scontrol (the accounting-disabled path).
MinJobAge=$min_job_age
MaxArraySize=50
MaxJobCount=10000
# Memory use sampled every second; a step over its --mem is killed (OUT_OF_MEMORY).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=$over_memory
JobCompType=jobcomp/none
$acct_lines
$node_line State=UNKNOWN NodeAddr=127.0.0.1
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$DIR/plugstack.conf"

    if [[ $accounting == yes ]]; then
        cat >"$DIR/slurmdbd.conf" <<EOF
# Written by scripts/slurm-cluster.sh.
AuthType=auth/none
DbdAddr=127.0.0.1
DbdHost=$host
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
        chmod 600 "$DIR/slurmdbd.conf"
    fi
}

MARIADB_OPTS=()
mariadb_opts() {
    MARIADB_OPTS=(--no-defaults --datadir="$DIR/db" --socket="$DIR/run/mariadb.sock"
        --user=root --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-log-file-size=16M
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --skip-log-bin)
}

db_ready() { mariadb --no-defaults -h 127.0.0.1 -P "$DB_PORT" -u slurm -e 'select 1'; }
dbd_ready() { SLURM_CONF="$DIR/slurm.conf" sacctmgr -n -P show cluster; }
cluster_registered() {
    [[ $(SLURM_CONF="$DIR/slurm.conf" sacctmgr -n -P show cluster format=Cluster,ControlPort 2>/dev/null) == "rungtest|$CTLD_PORT" ]]
}

cmd_start() {
    local accounting=yes min_job_age=120 cgroup=no
    while [[ $# -gt 0 ]]; do
        case $1 in
        --no-accounting) accounting=no ;;
        --cgroup-memory) cgroup=yes ;;
        --min-job-age)
            [[ ${2:-} =~ ^[0-9]+$ ]] || die "--min-job-age needs seconds"
            min_job_age=$2
            shift
            ;;
        *) die "unknown option $1" ;;
        esac
        shift
    done
    command -v slurmctld >/dev/null 2>&1 || die "slurmctld not found: run '$0 install' first"
    if [[ $accounting == yes ]]; then
        command -v slurmdbd >/dev/null 2>&1 || die "slurmdbd not found: run '$0 install' first"
        command -v mariadbd >/dev/null 2>&1 || die "mariadbd not found: run '$0 install' first"
    fi

    # A cluster left in this folder by a killed run goes first.
    if [[ -d $DIR/run ]]; then
        cmd_stop_quiet
    fi
    mkdir -p "$DIR"/{state,spool,log,run}
    local t0=$SECONDS base
    base=$(pick_ports)
    if [[ $cgroup == yes ]]; then
        awk '$2 == "/sys/fs/cgroup/memory" && $3 == "cgroup" && $4 ~ /(^|,)rw(,|$)/ {found = 1}
             END {exit !found}' /proc/mounts ||
            die "--cgroup-memory needs a writable cgroup v1 memory controller at /sys/fs/cgroup/memory"
        echo yes >"$DIR/run/cgroup"
    fi
    write_configs "$accounting" "$min_job_age" "$base" "$cgroup"

    if [[ $accounting == yes ]]; then
        mariadb_opts
        # No mariadb-install-db (3 s): with --skip-grant-tables the server runs without the
        # system tables, and slurmdbd creates its own database.
        mkdir -p "$DIR/db"
        # No grants: anyone on loopback may connect, which is all slurmdbd needs.
        launch mariadb mariadbd "${MARIADB_OPTS[@]}" --port="$DB_PORT" --bind-address=127.0.0.1 \
            --pid-file="$DIR/run/mariadb.pid.own" --log-error="$DIR/log/mariadb.log" \
            --skip-grant-tables
        wait_for mariadb 60 db_ready || { cmd_stop_quiet; die "MariaDB did not start"; }
        launch slurmdbd slurmdbd -D
        wait_for slurmdbd 90 dbd_ready || { cmd_stop_quiet; die "slurmdbd did not start"; }
    fi
    # After slurmdbd: on its first start slurmctld needs the database (it dies without its TRES).
    launch slurmctld slurmctld -D -i
    launch slurmd slurmd -D
    wait_for slurmctld 60 node_idle || { cmd_stop_quiet; die "the node did not become idle"; }
    if [[ $accounting == yes ]]; then
        # slurmctld registers the cluster (its host and port) with slurmdbd once it reaches it.
        wait_for slurmctld 60 cluster_registered || { cmd_stop_quiet; die "slurmctld did not register with slurmdbd"; }
        sacct_ok || { cmd_stop_quiet; die "sacct does not answer"; }
    fi
    note "cluster up in $((SECONDS - t0))s (accounting: $accounting, ports $base-$((base + 3)))"
    echo "export SLURM_CONF=$DIR/slurm.conf"
}

# ---------------------------------------------------------------------------------------------
# stop

# Every pid whose environment carries this cluster's marker: the daemons and the slurmstepd
# processes slurmd started (which outlive slurmd).
marked_pids() {
    local file pid
    for file in $(grep -lsxzF "RUNG_SLURM_CLUSTER=$DIR" /proc/[0-9]*/environ); do
        pid=${file#/proc/}
        pid=${pid%/environ}
        [[ $pid == "$$" ]] || echo "$pid"
    done
}

# True when pid $1 carries this cluster's marker (so a recycled pid is never killed).
ours() { grep -qsxzF "RUNG_SLURM_CLUSTER=$DIR" "/proc/$1/environ"; }

# SIGTERM to every pid given, up to 10 s for them all to go, then SIGKILL.
stop_pids() {
    local pid i left
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for i in $(seq 1 75); do
        left=()
        for pid in "$@"; do alive "$pid" && left+=("$pid"); done
        [[ ${#left[@]} -eq 0 ]] && return 0
        if [[ $i -eq 50 ]]; then
            note "pids ${left[*]} ignored SIGTERM for 10s; killing them"
            kill -KILL "${left[@]}" 2>/dev/null || true
        fi
        sleep 0.2
    done
    note "pids ${left[*]} are still there"
}

cmd_stop_quiet() {
    local pid name i
    # Jobs first, while slurmctld and slurmd can still clean up their processes.
    if [[ -f $DIR/slurm.conf ]] && pid=$(pid_of slurmctld) && alive "$pid"; then
        SLURM_CONF="$DIR/slurm.conf" timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
        for i in $(seq 1 50); do
            [[ -z $(SLURM_CONF="$DIR/slurm.conf" timeout 5 squeue -h -o %i 2>/dev/null || true) ]] && break
            sleep 0.2
        done
    fi
    # The Slurm daemons together, then the accounting pair: the data is throwaway.
    local group pids
    for group in "slurmd slurmctld" "slurmdbd mariadb"; do
        pids=()
        for name in $group; do
            if pid=$(pid_of "$name") && ours "$pid"; then pids+=("$pid"); fi
        done
        [[ ${#pids[@]} -eq 0 ]] || stop_pids "${pids[@]}"
        for name in $group; do rm -f "$DIR/run/$name.pid"; done
    done
    # Leftovers (slurmscriptd, a slurmstepd whose job did not go away): kill them and the process
    # groups of their children (proctrack/pgid makes every task lead its own group).
    local child pgid
    mapfile -t pids < <(marked_pids)
    for pid in "${pids[@]}"; do
        for child in $(grep -lx "PPid:[[:space:]]*$pid" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3); do
            pgid=$(awk '{print $5}' "/proc/$child/stat" 2>/dev/null) || continue
            [[ $pgid == "$child" ]] && kill -KILL -- "-$pgid" 2>/dev/null || true
        done
    done
    [[ ${#pids[@]} -eq 0 ]] || stop_pids "${pids[@]}"
    # The cgroups Slurm made (empty once the jobs are gone; rmdir leaves busy ones alone).
    if [[ -f $DIR/run/cgroup ]]; then
        local top
        for top in /sys/fs/cgroup/*/"slurm_$(hostname -s)"; do
            [[ -d $top ]] && find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        done
        rm -f "$DIR/run/cgroup"
    fi
}

cmd_stop() {
    [[ -d $DIR ]] || die "no such folder: $DIR"
    cmd_stop_quiet
    local left
    left=$(marked_pids)
    [[ -z $left ]] || die "still running after stop: $left"
    note "stopped"
}

# ---------------------------------------------------------------------------------------------

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
sub=$1
shift
case $sub in
install) cmd_install "$@" ;;
start | stop)
    [[ $# -ge 1 ]] || usage
    DIR=$(realpath -m "$1")
    shift
    if [[ $sub == start ]]; then cmd_start "$@"; else cmd_stop "$@"; fi
    ;;
*) usage ;;
esac

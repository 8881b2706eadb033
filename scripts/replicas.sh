#!/usr/bin/env bash
# Real read replicas for the replica suites (see ../shared/notes/replicas.md for why each step):
#   scripts/replicas.sh start            a PostgreSQL streaming standby of 127.0.0.1:5432 on 5433, and a
#                                        MariaDB GTID pair (primary 3307, replica 3308); idempotent
#   scripts/replicas.sh env              the variables the suites read, as `export` lines
#   scripts/replicas.sh stop|start pg-replica|mysql-replica
#                                        stops or starts one replica server (the fallback tests)
#   scripts/replicas.sh down             stops all three servers
# Runs as root (it switches to the postgres and mysql users). Leaves the main servers' data alone:
# the only change to them is a `replication` line in PostgreSQL's pg_hba.conf.
set -euo pipefail

ROOT="${POLYRECORD_REPLICA_DIR:-/var/tmp/polyrecord-replicas}"
PG_BIN="/usr/lib/postgresql/$(ls /etc/postgresql | head -n 1)/bin"
PG_HBA="/etc/postgresql/$(ls /etc/postgresql | head -n 1)/main/pg_hba.conf"
PG_DIR="$ROOT/pg"
MY_DIR="$ROOT/mariadb"

log() { printf '[replicas] %s\n' "$*" >&2; }

wait_for() { # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

primary_sql() { psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc "$1"; }
pg_replica_ready() { [ "$(psql -h 127.0.0.1 -p 5433 -U postgres -d postgres -Atqc "select pg_is_in_recovery()" 2>/dev/null)" = "t" ]; }
pg_ctl_replica() { runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" "$@"; }

start_pg_replica() {
  pg_replica_ready && return 0
  if [ ! -f "$PG_DIR/data/standby.signal" ]; then
    if ! grep -q '^host[[:space:]]\+replication' "$PG_HBA"; then
      printf 'host replication all 127.0.0.1/32 trust\nlocal replication all trust\n' >> "$PG_HBA"
      primary_sql 'select pg_reload_conf()' >/dev/null
    fi
    rm -rf "$PG_DIR"; mkdir -p "$PG_DIR"; chown postgres:postgres "$PG_DIR"
    log "pg_basebackup of 127.0.0.1:5432 into $PG_DIR/data"
    (cd "$PG_DIR" && runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D "$PG_DIR/data" -R -X stream -c fast)
    # Debian keeps the configuration outside the data directory, so the copy has none; a standby
    # refuses to start with fewer connections or prepared transactions than its primary.
    cat > "$PG_DIR/data/postgresql.conf" <<CONF
port = 5433
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
hba_file = '$PG_HBA'
hot_standby = on
max_connections = $(primary_sql 'show max_connections')
max_prepared_transactions = $(primary_sql 'show max_prepared_transactions')
max_worker_processes = $(primary_sql 'show max_worker_processes')
max_locks_per_transaction = $(primary_sql 'show max_locks_per_transaction')
hot_standby_feedback = on
CONF
    chown postgres:postgres "$PG_DIR/data/postgresql.conf"; chmod 700 "$PG_DIR/data"
  fi
  log "starting the PostgreSQL standby on 5433"
  pg_ctl_replica -w start >/dev/null
  wait_for 30 pg_replica_ready || { log "the PostgreSQL standby did not come up"; return 1; }
}

my_ready() { mysqladmin -h 127.0.0.1 -P "$1" -u root ping; }

start_mariadbd() { # start_mariadbd <p|r> <port> <server-id> <extra...>
  local name=$1 port=$2 id=$3; shift 3
  my_ready "$port" >/dev/null 2>&1 && return 0
  runuser -u mysql -- /usr/sbin/mariadbd --no-defaults --datadir="$MY_DIR/$name" --port="$port" --bind-address=127.0.0.1 \
    --socket="$MY_DIR/$name.sock" --pid-file="$MY_DIR/$name.pid" --server-id="$id" --log-error="$MY_DIR/$name.err" "$@" >/dev/null 2>&1 &
  wait_for 60 my_ready "$port" || { log "mariadbd on $port did not come up (see $MY_DIR/$name.err)"; return 1; }
}

start_mysql_pair() {
  local fresh=0
  if [ ! -d "$MY_DIR/r/mysql" ]; then
    fresh=1
    rm -rf "$MY_DIR"; mkdir -p "$MY_DIR"; chown mysql:mysql "$MY_DIR"
    for name in p r; do
      mariadb-install-db --user=mysql --datadir="$MY_DIR/$name" --auth-root-authentication-method=normal >/dev/null
    done
  fi
  start_mariadbd p 3307 11 --log-bin="$MY_DIR/p/binlog" --binlog-format=ROW
  start_mysql_replica
  if [ "$fresh" = 1 ]; then
    log "setting up GTID replication 3307 -> 3308"
    # A fresh install's anonymous ''@'localhost' shadows 'repl'@'%' for 127.0.0.1: create both.
    mysql -h 127.0.0.1 -P 3307 -u root -e "CREATE USER 'repl'@'%' IDENTIFIED BY 'repl'; CREATE USER 'repl'@'localhost' IDENTIFIED BY 'repl'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'localhost'; CREATE DATABASE IF NOT EXISTS test"
    mysql -h 127.0.0.1 -P 3308 -u root -e "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=3307, MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE;"
  fi
  wait_for 30 my_replica_caught_up || { log "the MariaDB replica is not replicating"; return 1; }
}

my_replica_caught_up() {
  local pos
  pos=$(mysql -h 127.0.0.1 -P 3307 -u root -Nse 'select @@gtid_binlog_pos')
  [ "$(mysql -h 127.0.0.1 -P 3308 -u root -Nse "select master_gtid_wait('$pos', 1)")" = "0" ]
}

start_mysql_replica() {
  # Read-only except for replication (and root, which the tests use to stop the SQL thread).
  start_mariadbd r 3308 12 --read-only=1
}

stop_pid() { # stop_pid <pid file>
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  wait_for 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
}

print_env() {
  cat <<ENV
export POLYRECORD_PG_REPLICA_URL=postgres://postgres@127.0.0.1:5433/test
export POLYRECORD_MYSQL_PRIMARY_URL=mysql://root@127.0.0.1:3307/test
export POLYRECORD_MYSQL_REPLICA_URL=mysql://root@127.0.0.1:3308/test
export POLYRECORD_REPLICA_SCRIPT=$(cd "$(dirname "$0")" && pwd)/replicas.sh
ENV
}

case "${1:-}" in
  start) start_pg_replica; start_mysql_pair ;;
  env) print_env ;;
  stop)
    case "${2:-}" in
      pg-replica) pg_ctl_replica -m fast -w stop >/dev/null ;;
      mysql-replica) stop_pid "$MY_DIR/r.pid" ;;
      *) echo "usage: $0 stop pg-replica|mysql-replica" >&2; exit 2 ;;
    esac ;;
  restart)
    case "${2:-}" in
      pg-replica) start_pg_replica ;;
      mysql-replica) start_mysql_replica ;;
      *) echo "usage: $0 restart pg-replica|mysql-replica" >&2; exit 2 ;;
    esac ;;
  down) pg_ctl_replica -m fast -w stop >/dev/null 2>&1 || true; stop_pid "$MY_DIR/r.pid"; stop_pid "$MY_DIR/p.pid" ;;
  *) echo "usage: $0 start|env|stop <replica>|restart <replica>|down" >&2; exit 2 ;;
esac

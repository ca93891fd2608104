#!/usr/bin/env bash
# Start PostgreSQL and MariaDB when they are down; give MariaDB the binlog settings that
# binlog (CDC) tests need (log_bin, ROW format, FULL row image, a server_id), restarting it once
# when they are missing. Safe to run again and again.
set -uo pipefail

wait_for() {  # wait_for NAME CMD...
    local name=$1; shift
    for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    echo "services: $name did not come up" >&2; return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432

mysql_ok() { mysql -uroot -h127.0.0.1 -e 'SELECT 1'; }
if ! mysql_ok >/dev/null 2>&1; then
    echo "services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
wait_for MariaDB mysql_ok

binlog_ok() {
    mysql -uroot -h127.0.0.1 -N -e "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id" \
        | grep -q $'^1\tROW\tFULL\t[1-9]'
}
if ! binlog_ok; then
    conf=/etc/mysql/mariadb.conf.d/99-tapwell-binlog.cnf
    echo "services: enabling the ROW binlog in $conf and restarting MariaDB"
    mkdir -p "$(dirname "$conf")"
    # Debian's my.cnf includes this folder; the image here may ship one that does not.
    grep -q '^!includedir /etc/mysql/mariadb.conf.d' /etc/mysql/my.cnf 2>/dev/null \
        || printf '\n!includedir /etc/mysql/mariadb.conf.d/\n' >> /etc/mysql/my.cnf
    cat > "$conf" <<'CNF'
[mariadbd]
log_bin = /var/lib/mysql/mysql-bin
binlog_format = ROW
binlog_row_image = FULL
server_id = 1
expire_logs_days = 2
CNF
    mysqladmin -uroot -h127.0.0.1 shutdown || pkill -x mariadbd || true
    for _ in $(seq 1 30); do pgrep -x mariadbd >/dev/null || break; sleep 1; done
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB mysql_ok
    binlog_ok || { echo "services: MariaDB binlog is still not ROW/FULL" >&2; exit 1; }
fi
echo "services: PostgreSQL and MariaDB (ROW binlog) are up"

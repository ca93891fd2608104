#!/usr/bin/env bash
# Start PostgreSQL and MariaDB when they are down, with the settings they come with; never
# reconfigure or restart a running server. Tests that need other server settings (binlog /
# CDC / LOG_BASED tests need a ROW binlog) start their own throwaway MariaDB
# (tests/helpers/mariadb_server.py). Safe to run again and again.
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
echo "services: PostgreSQL and MariaDB are up"

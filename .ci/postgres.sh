# Sourced by .ci/run (and by developers: `source .ci/postgres.sh`): a throwaway PostgreSQL cluster
# in a temp dir on a free loopback port, for the statistics store's PostgreSQL tests (#25).
# Exports WXPUB_TEST_PG_URL; the cluster is stopped and removed when the sourcing shell exits
# (or by `wxpub_pg_stop`).
# No mock: Debian's own server, installed here when the machine lacks it.
# The newest installed server (a client-only package has bin/ too, but no initdb).
wxpub_pg_bin() { ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 | xargs -r dirname; }
if [ -z "$(wxpub_pg_bin)" ]; then
  _sudo=""; [ "$(id -u)" -ne 0 ] && _sudo="sudo"
  $_sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq postgresql >/dev/null
fi
WXPUB_PG_BIN="$(wxpub_pg_bin)"
WXPUB_PG_DIR="$(mktemp -d /tmp/wxpub-pg.XXXXXX)"
# initdb and postgres refuse to run as root: as root (CI), the cluster belongs to `postgres`.
WXPUB_PG_AS=""
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$WXPUB_PG_DIR"
  WXPUB_PG_AS="runuser -u postgres --"
fi
wxpub_pg_stop() {
  (cd "$WXPUB_PG_DIR" && $WXPUB_PG_AS "$WXPUB_PG_BIN/pg_ctl" -D "$WXPUB_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1) || true
  rm -rf "$WXPUB_PG_DIR"
}
WXPUB_PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# A Chinese (ICU) collation on purpose: a query whose order depends on the cluster's locale rather
# than on the store's own COLLATE "C" columns shows up as a difference from SQLite in the tests.
(cd "$WXPUB_PG_DIR" && $WXPUB_PG_AS "$WXPUB_PG_BIN/initdb" -D "$WXPUB_PG_DIR/data" -U wxpub --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 --locale-provider=icu --icu-locale=zh >"$WXPUB_PG_DIR/initdb.log" 2>&1 ||
  $WXPUB_PG_AS "$WXPUB_PG_BIN/initdb" -D "$WXPUB_PG_DIR/data" -U wxpub --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$WXPUB_PG_DIR/initdb.log" 2>&1)
(cd "$WXPUB_PG_DIR" && $WXPUB_PG_AS "$WXPUB_PG_BIN/pg_ctl" -D "$WXPUB_PG_DIR/data" -l "$WXPUB_PG_DIR/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $WXPUB_PG_PORT -k $WXPUB_PG_DIR -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null)
# Stopped and removed when the shell that sourced this exits, whatever happens after this line.
trap wxpub_pg_stop EXIT
"$WXPUB_PG_BIN/createdb" -h 127.0.0.1 -p "$WXPUB_PG_PORT" -U wxpub wxpub_test
export WXPUB_TEST_PG_URL="postgres://wxpub@127.0.0.1:$WXPUB_PG_PORT/wxpub_test"

#!/bin/sh
# postgres_replica (docker compose, profile `scale`): a hot standby of postgres_db. On first start the volume is
# empty: copy the primary with pg_basebackup -R (which writes standby.signal and the primary_conninfo to stream
# from), then run PostgreSQL on the copy. Later starts resume streaming from where the copy is.
set -eu
data=/var/lib/postgresql/data/standby
if [ ! -s "$data/PG_VERSION" ]; then
  until pg_isready -q -h postgres_db -p 5432; do sleep 1; done
  rm -rf "$data"
  pg_basebackup -h postgres_db -p 5432 -U replicator -D "$data" -R -X stream --checkpoint=fast
fi
chmod 700 "$data"
exec postgres -D "$data" -c hot_standby=on

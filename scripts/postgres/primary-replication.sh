#!/bin/sh
# Lets postgres_replica stream from postgres_db (docker compose, profile `scale`, docs/scaling.md).
# The official image runs this once, when it initialises an empty volume (/docker-entrypoint-initdb.d); on an older
# volume run it by hand: docker compose exec postgres_db sh /docker-entrypoint-initdb.d/primary-replication.sh
# A role that may only replicate, so the standby holds no credentials that can write. It shares the database's
# secret: one password for compose's PostgreSQL, kept in .env (make env) like the others.
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v password="$POSTGRES_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD %L', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator')
\gexec
SQL
hba=$(psql -tA -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c 'SHOW hba_file')
line="host replication replicator all scram-sha-256"
grep -qxF "$line" "$hba" || echo "$line" >> "$hba"
psql -tA -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c 'SELECT pg_reload_conf()' >/dev/null

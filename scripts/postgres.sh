#!/usr/bin/env bash
# PostgreSQL for the storage tests: use the one on 127.0.0.1:5432 (CI has it, database
# `test`, trust auth); on a fresh Debian host start or install one. Fails loudly otherwise.
set -euo pipefail
url=${IVR_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
reachable() { .venv/bin/python -c "import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "${url/+psycopg/}" 2>/dev/null; }
reachable && exit 0
if [[ -n ${IVR_TEST_POSTGRES_URL:-} || $(id -u) -ne 0 ]]; then
  echo "postgres: PostgreSQL is not reachable at $url (set IVR_TEST_POSTGRES_URL or start it)" >&2
  exit 1
fi
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "postgres: installing PostgreSQL for the storage tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
hba=/etc/postgresql/$version/main/pg_hba.conf
grep -q "ivr-test" "$hba" || sed -i "1i host test postgres 127.0.0.1/32 trust # ivr-test" "$hba"
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
for _ in $(seq 30); do reachable && break; sleep 1; done
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 || su postgres -c "createdb test"
reachable || { echo "postgres: still not reachable at $url" >&2; exit 1; }

#!/bin/sh
# Writes deploy/postgres.env and deploy/seqpulse.env from their examples, with a new random PostgreSQL
# password (in both), admin token and encryption key. Run once before the first `docker compose up`; later runs keep
# the files as they are.
set -eu
cd "$(dirname "$0")"

if [ -e postgres.env ] && [ -e seqpulse.env ]; then
  echo "deploy/postgres.env and deploy/seqpulse.env exist: kept as they are"
  exit 0
fi
if [ -e postgres.env ] || [ -e seqpulse.env ]; then
  echo "only one of deploy/postgres.env and deploy/seqpulse.env exists; the password must match in both:" >&2
  echo "delete it to generate both, or write the other one by hand from its .example" >&2
  exit 1
fi

# 24 random bytes as hex: nothing to percent-encode in DATABASE_URL.
secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
password=$(secret)
admin_token=$(secret)
encryption_key=$(head -c 32 /dev/urandom | base64)

umask 077
sed "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD=$password|" postgres.env.example >postgres.env
sed -e "s|^DATABASE_URL=.*|DATABASE_URL=postgres://seqpulse:$password@postgres:5432/seqpulse|" \
  -e "s|^SEQPULSE_ADMIN_TOKEN=.*|SEQPULSE_ADMIN_TOKEN=$admin_token|" \
  -e "s|^SEQPULSE_ENCRYPTION_KEY=.*|SEQPULSE_ENCRYPTION_KEY=$encryption_key|" seqpulse.env.example >seqpulse.env
echo "wrote deploy/postgres.env and deploy/seqpulse.env (the admin token is in deploy/seqpulse.env)"

#!/bin/sh
# `seqpulse …` inside the image: the operator CLI (`pnpm seqpulse …` in a checkout), on DATABASE_URL.
exec node /app/server/dist/bin/cli.js "$@"

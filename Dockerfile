# syntax=docker/dockerfile:1
# SeqPulse server images, from one build:
#   docker build -t seqpulse .                        production (the last stage): needs DATABASE_URL
#   docker build --target trial -t seqpulse:trial .   one container with its own embedded PostgreSQL
# compose.yaml runs the production image beside the official PostgreSQL image.

# Node.js 26 is the Active LTS line (since 2026-10-28); trixie (13) is Debian's stable release. The
# runtime stages take only the node binary from NODE_IMAGE onto the same Debian release: npm, yarn and
# the C headers of the node image are build tools, and leaving them out keeps the image under 250 MB.
ARG NODE_IMAGE=node:26.12.1-trixie-slim
ARG DEBIAN_IMAGE=debian:trixie-slim

FROM ${NODE_IMAGE} AS build
RUN npm install --global pnpm@12.4.2
WORKDIR /src
# Packages are fetched from the lockfile alone, so this layer survives source changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
COPY patches/ patches/
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile --filter "@seqpulse/server..."
# JavaScript bundles plus the few packages read from disk at run time (server/scripts/build.mjs).
RUN node server/scripts/build.mjs --out /out/production \
    && node server/scripts/build.mjs --out /out/trial --embedded-postgres

FROM ${DEBIAN_IMAGE} AS runtime
ARG NODE_IMAGE
# The server's version (server/package.json); the commit and build time come from the build command.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="SeqPulse" \
      org.opencontainers.image.description="Post-deploy verification: samples a service's metrics around each deploy and gives a verdict" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# node links libatomic (and libstdc++, already there). tini as PID 1 passes docker stop's SIGTERM to
# the server, which drains, and reaps orphaned processes.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libatomic1 tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 seqpulse \
    && useradd --system --uid 10001 --gid seqpulse --home-dir /var/lib/seqpulse --shell /usr/sbin/nologin seqpulse \
    && install --directory --owner=seqpulse --group=seqpulse --mode=0750 /var/lib/seqpulse
WORKDIR /app
COPY drizzle/ drizzle/
COPY --chmod=0755 deploy/seqpulse-cli.sh /usr/local/bin/seqpulse
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    PORT=8080 \
    SEQPULSE_DATA_DIR=/var/lib/seqpulse
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --start-interval=1s --retries=3 \
    CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "server/dist/bin/index.js"]

# One container, no DATABASE_URL needed: PostgreSQL runs inside it with its data in the volume.
FROM runtime AS trial
COPY --from=build /out/trial server/dist/
VOLUME ["/var/lib/seqpulse"]

# The production image: bundles only, DATABASE_URL required (compose.yaml).
FROM runtime AS production
COPY --from=build /out/production server/dist/

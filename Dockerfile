# SeqPulse server: API and workers, on the embedded PostgreSQL unless DATABASE_URL is set.
FROM node:20-bookworm-slim
RUN npm install --global pnpm@12.4.2
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY patches/ patches/
COPY server/package.json server/
COPY packages/types/package.json packages/types/
COPY packages/client/package.json packages/client/
COPY action/package.json action/
COPY test/package.json test/
RUN pnpm install --frozen-lockfile
COPY . .
ENV PORT=8080 \
    SEQPULSE_DATA_DIR=/var/lib/seqpulse
RUN mkdir -p /var/lib/seqpulse && chmod 755 /var/lib/seqpulse
VOLUME ["/var/lib/seqpulse"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Run node directly (not through pnpm) so that docker stop's SIGTERM reaches the server.
CMD ["node", "--import", "tsx", "server/src/index.ts"]

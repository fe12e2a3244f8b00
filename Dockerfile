# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY lenses ./lenses
# Compiles, then snapshots the validated catalogue into dist/.
RUN npm run build

# Runtime stage: production dependencies only, compiled code, the catalogue; runs as non-root.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
# tini as PID 1 passes SIGTERM to node (and reaps children), so `docker stop` runs the graceful
# shutdown: running jobs are handed back with their checkpoints.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY lenses ./lenses
USER node
EXPOSE 3000 9090
# /healthz on the HTTP port (app) or the ops port (Socket Mode, workers): see bin/healthcheck.js.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 CMD ["node", "bin/healthcheck.js"]
# node directly, not `npm start`: npm does not pass SIGTERM on to node. For workers only:
# `docker run … lensbot node dist/worker-main.js`.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]

# syntax=docker/dockerfile:1
# One image for `ctp-connector operator` and `ctp-connector proxy` (the Deployment's args choose).
#   docker build -t ctp-connector:dev .
# The build stage runs the project's own npm scripts; the runtime stage holds only the compiled JavaScript and the
# production dependencies on a distroless Node 24 base: no shell, no package manager, user nonroot (65532).

FROM node:24-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so that source changes reuse this layer. `npm install` as the Makefile and CI run it (it
# follows package-lock.json); no install scripts are needed to compile.
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src ./operator/src
# Compile to dist/, then drop the dev dependencies (TypeScript, jest, eslint) from node_modules.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module", which Node needs to load dist/ as ES modules. Everything is owned by root
# and only readable by the process, so the container runs with a read-only root filesystem.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# operator: 8080 metrics, 8081 probes; proxy: 8443 HTTPS (aggregation layer), 8080 metrics.
EXPOSE 8080 8081 8443
# Node is PID 1 and handles SIGTERM itself (graceful stop, leader lease released); it starts no child processes.
# --max-semi-space-size (MiB): V8's young generation grows to 3 × 16 MiB by default, RSS the connector's short-lived
# request garbage does not need (make bench runs the connector with these options and reports its memory).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "/app/dist/operator/src/main.js"]
CMD ["--help"]

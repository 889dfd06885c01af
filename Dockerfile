# syntax=docker/dockerfile:1
# mcp-job-gateway: build on the current Node LTS, run the compiled JavaScript with production
# dependencies only, as a non-root user, on a read-only root filesystem.
#   docker build -t mcp-job-gateway .
#   docker run -p 8080:8080 -p 9090:9090 -v $PWD/my.yaml:/etc/mcp-job-gateway/config.yaml:ro mcp-job-gateway
# The config must bind 0.0.0.0 (server.host and admin.host) to be reachable from outside the container.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# Two malloc arenas: glibc's default of up to 8 per core keeps memory that V8 and undici allocate on
# other threads, and RSS with it (docs/performance.md, the image's node flags).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY config ./config
RUN groupadd --gid 10001 gateway && useradd --uid 10001 --gid gateway --no-create-home --shell /usr/sbin/nologin gateway
USER 10001:10001
EXPOSE 8080 9090
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# An 8 MB young generation: V8's default grows it with the machine's memory and RSS with it; smaller
# costs throughput in scavenges, larger lets promoted garbage fill old space (docs/performance.md).
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/main.js"]
CMD ["--config", "/etc/mcp-job-gateway/config.yaml"]

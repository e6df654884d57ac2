# aixcl's container image (docs/deployment.md). `aixcl stack export compose` builds it.
#   docker build -t aixcl .
# Checked by test/deploy/dockerfile.test.ts (hadolint is not available offline; the test is a
# checklist of the same rules: pinned base, multi-stage, non-root, npm ci, no remote ADD,
# HEALTHCHECK, no secrets in ENV).

# Build stage: dev dependencies compile TypeScript (dist/) and the web app (dist/web).
FROM node:20.19.5-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY web ./web
RUN npm run build

# Runtime stage: production dependencies only (node-llama-cpp brings prebuilt llama.cpp
# binaries for the platform) and the built dist/.
FROM node:20.19.5-bookworm-slim AS runtime
ENV NODE_ENV=production \
    AIXCL_HOME=/var/lib/aixcl \
    AIXCL_HOST=127.0.0.1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# A dedicated system user owning only AIXCL_HOME (0700); `aixcl` on the PATH for
# `docker compose exec aixcl aixcl …`.
RUN groupadd --system --gid 10001 aixcl \
 && useradd --system --uid 10001 --gid aixcl --home-dir /var/lib/aixcl --shell /usr/sbin/nologin aixcl \
 && install -d -m 0700 -o aixcl -g aixcl /var/lib/aixcl \
 && chmod 0755 /app/dist/cli/main.js \
 && ln -s /app/dist/cli/main.js /usr/local/bin/aixcl
USER aixcl:aixcl
VOLUME ["/var/lib/aixcl"]
EXPOSE 11434
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.AIXCL_PORT || '11434') + '/api/version').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]

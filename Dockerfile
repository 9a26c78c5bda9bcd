# One image for the server and the client:
#   docker build -t wisdom .
#   docker run -p 7077:7077 -p 127.0.0.1:9077:9077 -e WISDOM_SECRET=... wisdom  (serve; metrics on the host's loopback only)
#   docker run --network host wisdom fetch 127.0.0.1:7077 --json                 (client)
# The build stage runs the same steps as CI: `npm ci`, then scripts/build-binaries.ts.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx bun scripts/build-binaries.ts --no-deno && ./dist/wisdom version

# distroless/cc: glibc and libstdc++ only, no shell, runs as uid 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/wisdom /usr/local/bin/wisdom
ENV WISDOM_LISTEN=0.0.0.0:7077 \
    WISDOM_METRICS_LISTEN=0.0.0.0:9077 \
    WISDOM_LOG_FORMAT=json
USER nonroot
EXPOSE 7077 9077
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/wisdom", "healthcheck", "http://127.0.0.1:9077/healthz"]
ENTRYPOINT ["/usr/local/bin/wisdom"]
CMD ["serve"]

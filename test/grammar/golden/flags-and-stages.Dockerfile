# syntax=docker/dockerfile:1
ARG GO=1.22
# build stage
FROM --platform=$BUILDPLATFORM golang:${GO} AS build
RUN --mount=type=cache,target=/root/.cache/go-build,id="go build" \
    --network=none \
    go build -o /out/app ./cmd/app
COPY --from=build --chown=1000:1000 --link /out/app /usr/local/bin/
FROM scratch
ENTRYPOINT ["/usr/local/bin/app", "--serve"]

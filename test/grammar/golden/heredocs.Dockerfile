FROM alpine
RUN <<EOF
apk add --no-cache curl
EOF
COPY --chmod=755 <<-"run.sh" 3<<conf /app/
	#!/bin/sh
	exec /app/server
	run.sh
key=value
conf
RUN python3 <<'PY' > /out
print("hi")
PY

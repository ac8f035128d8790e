FROM base
ENV A=1 B="two words" \
    C=three
ENV LEGACY value with spaces
LABEL org.opencontainers.image.title="x" version=1
ONBUILD RUN echo "triggered"
ONBUILD COPY --chown=app . /src
HEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1
EXPOSE 80/tcp 443
VOLUME ["/data", "/logs"]

# syntax=docker/dockerfile:1
# Multi-stage build: resolve the locked environment in a builder, copy it into a slim runtime.
FROM python:3.12-slim AS builder
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY arbitrade ./arbitrade
COPY actors ./actors
RUN uv sync --frozen --no-dev

FROM python:3.12-slim AS runtime
RUN groupadd --system arbitrade && useradd --system --gid arbitrade --home /app arbitrade
WORKDIR /app
COPY --from=builder --chown=arbitrade:arbitrade /app /app
COPY --chown=arbitrade:arbitrade config ./config
ENV PATH="/app/.venv/bin:$PATH" \
    APP_HOST=0.0.0.0 \
    APP_PORT=9090 \
    LOG_JSON=true \
    DUCKDB_PATH=/app/data/arbitrade.duckdb
RUN mkdir -p /app/data && chown arbitrade:arbitrade /app/data
VOLUME ["/app/data"]
USER arbitrade
EXPOSE 9090
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9090/health', timeout=2).status == 200 else 1)"
ENTRYPOINT ["arbitrade"]
CMD ["run"]

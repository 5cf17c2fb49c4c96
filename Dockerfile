# syntax=docker/dockerfile:1
# checkpoint-gateway server image.
#   docker build -t REGISTRY/checkpoint-gateway:0.1.0 .
#   docker run -p 50051:50051 -p 9464:9464 REGISTRY/checkpoint-gateway:0.1.0 --backend memory://
# Two stages on the same pinned base: "build" makes a virtualenv with the server and its
# runtime dependencies (all prebuilt wheels: no compiler anywhere); the final stage copies
# only that virtualenv and runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Only what the package build needs (.dockerignore keeps everything else out).
COPY pyproject.toml README.md ./
COPY client ./client
COPY server ./server
# Build our own two (pure Python) wheels, the client's and the server's, then install the
# server with the [server] extra from wheels only (the client wheel from /wheels: it is
# not on PyPI): a dependency that would need compiling fails the build instead of
# pulling in gcc.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels ./client . \
 && /opt/venv/bin/pip install --only-binary=:all: --find-links /wheels \
      "$(ls /wheels/checkpoint_gateway-*.whl)[server]" \
 && /opt/venv/bin/pip uninstall --yes setuptools pip \
 && /opt/venv/bin/checkpoint-gateway --version

FROM ${PYTHON_IMAGE}
ARG UID=10001
RUN groupadd --system --gid ${UID} gateway \
 && useradd --system --uid ${UID} --gid gateway --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin gateway \
 && mkdir /data \
 && chown ${UID}:${UID} /data
COPY --from=build /opt/venv /opt/venv
# Settings for a container: listen on every interface (the Pod's network namespace is the
# boundary), JSON logs, SQLite on the /data volume unless a backend URL is given.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CHECKPOINT_GATEWAY_LISTEN=0.0.0.0:50051 \
    CHECKPOINT_GATEWAY_METRICS_LISTEN=0.0.0.0:9464 \
    CHECKPOINT_GATEWAY_LOG_FORMAT=json \
    CHECKPOINT_GATEWAY_BACKEND=sqlite:////data/checkpoints.db
WORKDIR /data
VOLUME ["/data"]
USER ${UID}:${UID}
EXPOSE 50051 9464
# Exec form: the gateway is PID 1 and receives SIGTERM itself, so it drains
# (health NOT_SERVING, in-flight calls finish within CHECKPOINT_GATEWAY_GRACE_SECONDS).
ENTRYPOINT ["checkpoint-gateway", "serve"]

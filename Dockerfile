# runwatch dashboard image for Cloud Run (built by Cloud Build from `make deploy`).
# The base is a build argument so the offline image check (`make image-check`) can use a base
# bootstrapped from Debian packages; production uses the pinned official slim image.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm
FROM ${BASE_IMAGE}

# Extra pip arguments for the offline check only (for example a mounted CA bundle); empty in
# production. Never pass credentials here: build arguments are recorded in the image history.
ARG PIP_INSTALL_ARGS=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080 \
    HOME=/home/runwatch

# A non-root user with a fixed uid, and a virtual environment that works on both bases.
RUN groupadd --gid 10001 runwatch \
 && useradd --uid 10001 --gid runwatch --home-dir /home/runwatch --create-home \
      --shell /usr/sbin/nologin runwatch \
 && python3 -m venv /opt/venv

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN /opt/venv/bin/pip install ${PIP_INSTALL_ARGS} --requirement requirements.txt

# Then the code (.dockerignore keeps tests, caches, virtualenvs and secrets out).
COPY . .
RUN /opt/venv/bin/python -m compileall -q /app \
 && chmod -R a+rX /app

USER 10001:10001
EXPOSE 8080

# Exec form: deploy/serve.py reads $PORT and execs Streamlit, which receives SIGTERM itself.
ENTRYPOINT ["/opt/venv/bin/python", "/app/deploy/serve.py"]

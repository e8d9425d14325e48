# ireserve: the web server and the access worker in one image (see "Running in production").
#
# Stage 1 gets the locked dependencies as wheels (requirements/runtime.txt, every file checked
# against its hash) and builds the project's wheel with the locked build tools (it compiles the
# catalogs, see setup.py); stage 2 installs exactly those wheels into a slim Python with no
# compiler, and runs as an unprivileged user.

FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements ./requirements
RUN python -m pip install --no-cache-dir --require-hashes -r requirements/build.txt \
 && python -m pip download --no-cache-dir --require-hashes --only-binary=:all: --dest /wheels \
      -r requirements/runtime.txt
COPY pyproject.toml setup.py README.md ./
COPY addon ./addon
COPY fixtures ./fixtures
COPY graphql ./graphql
COPY i18n ./i18n
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IRESERVE_HOST=0.0.0.0 \
    IRESERVE_PORT=8000 \
    IRESERVE_VAR_DIR=/var/lib/ireserve \
    IRESERVE_LOG_FORMAT=json
RUN groupadd --system ireserve \
 && useradd --system --gid ireserve --home-dir /var/lib/ireserve --shell /usr/sbin/nologin ireserve \
 && mkdir -p /var/lib/ireserve \
 && chown -R ireserve:ireserve /var/lib/ireserve
# Only the wheels of stage 1, checked again against the lock's hashes: nothing is resolved or
# compiled here, no compiler is present.
COPY --from=build /wheels /tmp/wheels
COPY --from=build /src/requirements/runtime.txt /tmp/runtime.txt
RUN python -m pip install --no-cache-dir --no-index --find-links /tmp/wheels --require-hashes -r /tmp/runtime.txt \
 && python -m pip install --no-cache-dir --no-index --no-deps /tmp/wheels/ireserve_addons-*.whl \
 && rm -rf /tmp/wheels /tmp/runtime.txt
USER ireserve
WORKDIR /var/lib/ireserve
# The var directory outlives the container: the embedded SQLite database and the generated key
# file (when IRESERVE_SECRET_KEY and IRESERVE_SECRET_KEY_FILE are not set) live here.
VOLUME ["/var/lib/ireserve"]
EXPOSE 8000
# Liveness only (it never touches the database): a database outage must not mark every container
# unhealthy. Readiness (/readyz) is for the load balancer. A worker container sets
# IRESERVE_HEALTH_PORT, and the probe checks that port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s CMD ["ireserve", "probe", "/healthz"]
# One process: right for the embedded SQLite database (one writer) and for the sandbox demo. On
# PostgreSQL run several: `ireserve serve --workers N` (compose.yaml does).
CMD ["ireserve", "serve"]

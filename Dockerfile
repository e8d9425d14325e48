# ireserve: the web server and the access worker in one image (see "Running in production").
#
# Stage 1 builds the wheel (it compiles the catalogs, see setup.py); stage 2 installs it into a
# slim Python with no compiler, and runs as an unprivileged user.

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml setup.py README.md ./
COPY addon ./addon
COPY fixtures ./fixtures
COPY graphql ./graphql
COPY i18n ./i18n
RUN python -m build --wheel --outdir /wheels \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels /wheels/ireserve_addons-*.whl

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
# Only wheels are installed (built in stage 1): nothing is compiled here, no compiler is present.
COPY --from=build /wheels /tmp/wheels
RUN python -m pip install --no-cache-dir --no-index --find-links /tmp/wheels ireserve-addons \
 && rm -rf /tmp/wheels
USER ireserve
WORKDIR /var/lib/ireserve
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s CMD ["ireserve", "probe"]
CMD ["ireserve", "serve", "--workers", "2"]

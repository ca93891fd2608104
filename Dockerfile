# The tapwell image: tapwell with every connector, and this project in /project (tapwell.yml,
# catalogs/, the sample data of the demo, and the venvs `tapwell install` makes for connectors
# with a pip_url). The Kubernetes CronJobs of `tapwell schedule kubernetes` run
# `tapwell run NAME --quiet` in it; by hand:
#
#   make image                                   # docker build -t <kubernetes.image> .
#   docker run --rm IMAGE run demo               # any tapwell command line
#   docker run --rm -e TAPWELL_INTEGRATION=demo IMAGE     # no arguments: run that integration
#
# Two stages: the first compiles mysqlclient and builds the venvs, the second holds only what
# they need at run time. Both start from the same base, so the venvs' python paths hold.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config libmariadb-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY runner runner
COPY taps taps
COPY targets targets
RUN python -m venv /opt/tapwell \
    && /opt/tapwell/bin/pip install --constraint constraints.txt '.[all]'
ENV PATH=/opt/tapwell/bin:$PATH
WORKDIR /project
COPY tapwell.yml ./
COPY catalogs catalogs
COPY sample/data sample/data
RUN mkdir -p state && tapwell install

FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin tapwell
COPY --from=build /opt/tapwell /opt/tapwell
COPY --from=build --chown=10001:10001 /project /project
COPY deploy/entrypoint.sh /usr/local/bin/tapwell-entrypoint
ENV PATH=/opt/tapwell/bin:$PATH TAPWELL_PROJECT=/project PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /project
# ENTRYPOINT resets the base image's CMD: no arguments means $TAPWELL_INTEGRATION (or one error line)
ENTRYPOINT ["tapwell-entrypoint"]

# The rendezvous: answers each request inside the SLA from the models' scores.
# Built from the same package as the other services: docker build -f ops/docker/rendezvous.Dockerfile .
FROM python:3.11-slim-bookworm AS package
WORKDIR /src
# The dependencies first, in a layer of their own: a change of source rebuilds from the
# COPY below in seconds instead of fetching every wheel again.
COPY pyproject.toml ops/docker/requirements.py ./
RUN python requirements.py pyproject.toml > requirements.txt \
 && python -m venv /opt/rdv \
 && /opt/rdv/bin/pip install --no-cache-dir --quiet -r requirements.txt
COPY README.md ./
COPY services/ services/
COPY schemas/ schemas/
COPY ops/kafka/ ops/kafka/
COPY ops/prometheus.yml ops/prometheus-rules.yml ops/
# No Spark: scoring runs on numpy, so the serving images stay small.
RUN /opt/rdv/bin/pip install --no-cache-dir --quiet --no-deps --no-build-isolation /src

FROM python:3.11-slim-bookworm
COPY --from=package /opt/rdv /opt/rdv
ENV PATH=/opt/rdv/bin:$PATH PYTHONUNBUFFERED=1 RDV_HOME=/var/lib/rdv
RUN useradd --uid 10001 --create-home rdv \
 && mkdir -p /var/lib/rdv /archive /registry \
 && chown rdv /var/lib/rdv /archive /registry
USER rdv
ENV RDV_RENDEZVOUS_METRICS_PORT=9400
EXPOSE 9400
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9400/metrics', timeout=2)"]
ENTRYPOINT ["rdv", "rendezvous"]

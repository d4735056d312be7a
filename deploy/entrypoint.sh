#!/bin/sh
# The one entrypoint of the Tollgate image (Dockerfile, compose.yaml, Procfile):
#
#   entrypoint.sh web|worker|beat|consumer|migrate [extra arguments for that process]
#
#   web       apply migrations (one replica at a time), then serve the ASGI app with granian
#   worker    a Celery worker on WORKER_QUEUES
#   beat      Celery beat: the clock of the periodic tasks (redbeat: one sends, others wait)
#   consumer  the usage stream consumer (manage.py usage_consumer)
#   migrate   apply migrations and exit (a release phase, a one-off job)
#
# Every process is exec'd: it replaces this shell, so SIGTERM from the container runtime reaches
# it directly and its exit code is the container's. Variables (defaults in brackets):
#   HOST [0.0.0.0], PORT [8000], WEB_WORKERS [2]          web
#   WORKER_QUEUES [usage,billing,webhooks,celery],        worker
#   WORKER_CONCURRENCY [2]
#   CELERY_LOG_LEVEL [INFO]                               worker, beat
set -eu

# Run from the project directory (manage.py, the portal package), wherever we were called from.
cd "$(dirname "$0")/.."

usage() {
    echo "usage: $0 web|worker|beat|consumer|migrate [arguments for that process]" >&2
    exit 64
}

[ $# -ge 1 ] || usage
process=$1
shift

# Prometheus multiprocess files (docs/metrics.md): processes of every container add up through
# one shared directory; a container that (re)starts drops only its own old files.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    rm -f "$PROMETHEUS_MULTIPROC_DIR"/*_"$(hostname)"-*.db
fi

case "$process" in
web)
    # Migrations first: a new release's code must not serve on the old schema. The advisory
    # lock makes replicas that start together take turns; the later ones find nothing to apply.
    python manage.py migrate_locked
    exec granian --interface asginl \
        --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" --workers "${WEB_WORKERS:-2}" \
        "$@" portal.asgi:application
    ;;
worker)
    # The queues docs/deploy.md names; run one worker per queue group to scale them apart.
    exec celery -A portal worker \
        --queues "${WORKER_QUEUES:-usage,billing,webhooks,celery}" \
        --concurrency "${WORKER_CONCURRENCY:-2}" --loglevel "${CELERY_LOG_LEVEL:-INFO}" "$@"
    ;;
beat)
    # celery-redbeat keeps the schedule in Redis under a lock: a second beat only waits.
    exec celery -A portal beat --loglevel "${CELERY_LOG_LEVEL:-INFO}" "$@"
    ;;
consumer)
    exec python manage.py usage_consumer "$@"
    ;;
migrate)
    exec python manage.py migrate_locked "$@"
    ;;
*)
    usage
    ;;
esac

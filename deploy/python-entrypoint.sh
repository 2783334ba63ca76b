#!/bin/sh
# Entrypoint of the backend and ingestion images.
#
# Both services share one bind-mounted data directory (/app/.dbdata). On Linux a directory Docker
# creates for a missing host path, or one made by `mkdir` as the host user, is not writable by the
# image's service user (uid/gid 10001). Started as root (the default), this script creates the data
# layout, gives the service user ownership of anything it does not own yet (only those files, so
# restarts stay cheap), and then runs the service as that user with no privileges left. Started as
# a non-root user (`user:` in compose), it only checks that the directory is writable and says how
# to fix it when it is not.
#
# Database migrations are not run here: `python -m backend` applies them itself when
# RUN_MIGRATIONS=true (compose pins it), before it binds any port.
set -eu
# Data files and directories private to the service user (0600 / 0700), as the services create them.
umask 077

data_dir="${JUNJO_DATA_DIR:-/app/.dbdata}"
service_uid=10001
service_gid=10001

if [ "$#" -eq 0 ]; then
    echo "junjo-entrypoint: error: no command given (expected e.g. python -m backend)" >&2
    exit 64
fi

if [ "$(id -u)" = "0" ]; then
    mkdir -p "$data_dir/sqlite" "$data_dir/spans/wal" "$data_dir/spans/parquet"
    find "$data_dir" \( ! -user "$service_uid" -o ! -group "$service_gid" \) \
        -exec chown "$service_uid:$service_gid" {} +
    exec setpriv --reuid="$service_uid" --regid="$service_gid" --clear-groups -- "$@"
fi

if ! mkdir -p "$data_dir/sqlite" "$data_dir/spans/wal" "$data_dir/spans/parquet" 2>/dev/null \
    || [ ! -w "$data_dir" ]; then
    echo "junjo-entrypoint: error: data directory $data_dir is not writable by uid $(id -u)." \
        "On the host run: sudo chown -R $(id -u):$(id -g) \"\${JUNJO_HOST_DB_DATA_PATH:-./.dbdata}\"" >&2
    exit 1
fi
exec "$@"

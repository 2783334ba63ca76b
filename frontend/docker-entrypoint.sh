#!/bin/sh
# Frontend container start: write the runtime configuration, then exec the command (nginx).
#
# One image serves every deployment because the backend URL is not baked into the build: the app
# loads /config.js before it starts and reads window.runtimeConfig.API_HOST. This script writes it
# from the same .env the backend reads:
#   JUNJO_ENV=development (default)  API_HOST=http://localhost:1323 (the port compose publishes)
#   JUNJO_ENV=production             API_HOST=$JUNJO_PROD_BACKEND_URL; JUNJO_PROD_FRONTEND_URL,
#                                    JUNJO_PROD_BACKEND_URL and JUNJO_PROD_INGESTION_URL are required
#                                    (the container refuses to start without them, naming the variable)
# It also writes junjo-runtime.conf for nginx so the Content-Security-Policy allows the API origin.
# Both go to the runtime directory, /run/junjo (the container's root filesystem is read-only; /run
# is a tmpfs), from where nginx serves /config.js and includes the conf. JUNJO_RUNTIME_DIR moves
# it (used by the tests).
set -eu

runtime_dir="${JUNJO_RUNTIME_DIR:-/run/junjo}"
junjo_env="${JUNJO_ENV:-development}"

fail() {
    echo "junjo-frontend: error: $*" >&2
    exit 1
}

# check_url NAME VALUE: an http(s) URL of plain URL characters (safe inside JS and nginx strings).
check_url() {
    [ -n "$2" ] || fail "$1 is required when JUNJO_ENV=production (e.g. $1=$3); set it in .env"
    case "$2" in
        http://?*|https://?*) ;;
        *) fail "$1 must start with http:// or https:// (got '$2')" ;;
    esac
    case "$2" in
        *[!A-Za-z0-9._~:/%-]*) fail "$1 contains characters not allowed in a base URL (got '$2')" ;;
    esac
}

case "$junjo_env" in
    development)
        api_host="http://localhost:1323"
        frontend_url="http://localhost:5153"
        ingestion_url="grpc://localhost:50051"
        ;;
    production)
        check_url JUNJO_PROD_FRONTEND_URL "${JUNJO_PROD_FRONTEND_URL:-}" https://junjo.example.com
        check_url JUNJO_PROD_BACKEND_URL "${JUNJO_PROD_BACKEND_URL:-}" https://api.junjo.example.com
        check_url JUNJO_PROD_INGESTION_URL "${JUNJO_PROD_INGESTION_URL:-}" https://ingestion.junjo.example.com
        api_host="${JUNJO_PROD_BACKEND_URL%/}"
        frontend_url="$JUNJO_PROD_FRONTEND_URL"
        ingestion_url="$JUNJO_PROD_INGESTION_URL"
        ;;
    *)
        fail "JUNJO_ENV must be 'development' or 'production' (got '$junjo_env')"
        ;;
esac

# scheme://host[:port] of the API, for the CSP's connect-src.
rest="${api_host#*://}"
api_origin="${api_host%%://*}://${rest%%/*}"

mkdir -p "$runtime_dir" || fail "cannot create the runtime directory $runtime_dir (mount a tmpfs on /run)"
printf 'window.runtimeConfig = { API_HOST: "%s" };\n' "$api_host" > "$runtime_dir/config.js.tmp"
mv -f "$runtime_dir/config.js.tmp" "$runtime_dir/config.js"
printf '# Written by docker-entrypoint.sh at container start; do not edit.\nset $junjo_api_origin "%s";\n' \
    "$api_origin" > "$runtime_dir/junjo-runtime.conf.tmp"
mv -f "$runtime_dir/junjo-runtime.conf.tmp" "$runtime_dir/junjo-runtime.conf"

echo "junjo-frontend: JUNJO_ENV=$junjo_env UI=$frontend_url API=$api_host OTLP=$ingestion_url"

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

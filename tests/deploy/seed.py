"""What the user's seed (docs: Docker Reference, "Minimal Build Configuration") requires, as data.

The compose and .env tests check our files against these facts rather than against our own files,
so a change that drifts from the seed fails even when it is self-consistent.
"""

from __future__ import annotations

BACKEND = "junjo-ai-studio-backend"
INGESTION = "junjo-ai-studio-ingestion"
FRONTEND = "junjo-ai-studio-frontend"
SERVICES = (BACKEND, INGESTION, FRONTEND)

NETWORK_KEY = "junjo-network"
NETWORK_NAME = "junjo_network"
NETWORK_DRIVER = "bridge"

DATA_VOLUME = "${JUNJO_HOST_DB_DATA_PATH:-./.dbdata}:/app/.dbdata"
DATA_MOUNT = "/app/.dbdata"
SERVICES_WITH_DATA = (BACKEND, INGESTION)

# service -> [(published host port, container port)]: the seed's, plus OTLP/HTTP beside OTLP/gRPC
PORTS = {BACKEND: [(1323, 1323)], INGESTION: [(50051, 50051), (4318, 4318)], FRONTEND: [(5153, 80)]}

# service -> environment pins of the seed (the containers must see exactly these values)
ENVIRONMENT = {
    BACKEND: {
        "INGESTION_HOST": INGESTION,
        "INGESTION_PORT": "50052",
        "RUN_MIGRATIONS": "true",
        "JUNJO_SQLITE_PATH": "/app/.dbdata/sqlite/junjo.db",
        "JUNJO_METADATA_DB_PATH": "/app/.dbdata/sqlite/metadata.db",
        "JUNJO_PARQUET_STORAGE_PATH": "/app/.dbdata/spans/parquet",
    },
    INGESTION: {
        "BACKEND_GRPC_HOST": BACKEND,
        "BACKEND_GRPC_PORT": "50053",
        "WAL_DIR": "/app/.dbdata/spans/wal",
        "SNAPSHOT_PATH": "/app/.dbdata/spans/hot_snapshot.parquet",
        "PARQUET_OUTPUT_DIR": "/app/.dbdata/spans/parquet",
    },
    FRONTEND: {},
}
# Ingestion's own port names, pinned to the ports above.
CONTRACT_ENVIRONMENT = {
    INGESTION: {"OTLP_GRPC_PORT": "50051", "OTLP_HTTP_PORT": "4318", "INTERNAL_GRPC_PORT": "50052"},
}

DEPENDS_ON = {INGESTION: {BACKEND: "service_started"}, FRONTEND: {BACKEND: "service_started"}}
RESTART = "unless-stopped"
ENV_FILE = ".env"

# The seed's ingestion healthcheck: grpc_health_probe -addr=localhost:50052, and its timings.
HEALTHCHECK_SERVICE = INGESTION
HEALTHCHECK_PORT = 50052
HEALTHCHECK_TIMINGS = {"interval": "5s", "timeout": "3s", "retries": 5, "start_period": "5s"}

# Variables the seed's "Environment Variables Reference" documents (all belong in .env.example).
DOCUMENTED_VARIABLES = (
    "JUNJO_ENV",
    "JUNJO_ALLOW_ORIGINS",
    "JUNJO_SESSION_SECRET",
    "JUNJO_SECURE_COOKIE_KEY",
    "JUNJO_HOST_DB_DATA_PATH",
    "JUNJO_LOG_LEVEL",
    "JUNJO_LOG_FORMAT",
    "JUNJO_PROD_FRONTEND_URL",
    "JUNJO_PROD_BACKEND_URL",
    "JUNJO_PROD_INGESTION_URL",
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
)

# Every configuration variable of the three services (docs/CONFIGURATION.md).
CONTRACT_VARIABLES = (
    *DOCUMENTED_VARIABLES,
    "PORT",
    "GRPC_PORT",
    "INGESTION_HOST",
    "INGESTION_PORT",
    "RUN_MIGRATIONS",
    "JUNJO_SQLITE_PATH",
    "JUNJO_METADATA_DB_PATH",
    "JUNJO_PARQUET_STORAGE_PATH",
    "JUNJO_INTERNAL_GRPC_TOKEN",
    "OTLP_GRPC_PORT",
    "OTLP_HTTP_PORT",
    "INTERNAL_GRPC_PORT",
    "BACKEND_GRPC_HOST",
    "BACKEND_GRPC_PORT",
    "WAL_DIR",
    "SNAPSHOT_PATH",
    "PARQUET_OUTPUT_DIR",
    "BATCH_SIZE",
    "FLUSH_MAX_MB",
    "FLUSH_MAX_AGE_SECS",
    "BACKPRESSURE_MAX_MB",
    "RECENT_COLD_MAX_FILES",
    "RECENT_COLD_MAX_AGE_SECS",
    "PREPARE_HOT_SNAPSHOT_CACHE_TTL_MS",
    "JUNJO_RETENTION_DAYS",
    "JUNJO_RETENTION_MAX_GB",
)

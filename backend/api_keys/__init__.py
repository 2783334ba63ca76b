"""API keys for OTLP clients: REST management and the internal ValidateApiKey gRPC service."""

"""The Parquet metadata index (metadata.db): schema, indexer, retention."""

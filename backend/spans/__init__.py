"""Span queries: REST routes → service → query planning → DataFusion execution → trace document."""

"""Prompt playground: re-run a recorded LLM call against OpenAI, Anthropic or Gemini.

Read in data-flow order: `schemas` (the HTTP contract), `router` (the /llm endpoints), `service`
(provider lookup, model cache, latency), `providers` (one interface) and one module per provider
SDK, `errors` (every failure mapped to a clear status and `detail`).
"""

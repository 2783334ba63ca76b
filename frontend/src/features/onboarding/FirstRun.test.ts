import { describe, expect, it } from "vitest";
import { firstRunSnippet } from "./FirstRun";

describe("first-run snippets", () => {
  it("fill in the key, the endpoint and the protocol for a local server", () => {
    const s = firstRunSnippet("otel-python", "grpc://localhost:50051", "k".repeat(64));
    expect(s.code).toContain(`JUNJO_AI_STUDIO_API_KEY=${"k".repeat(64)}`);
    expect(s.code).toContain('endpoint="localhost:50051"');
    expect(s.code).toContain("insecure=True");
    expect(s.install).toBe("pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc");
  });

  it("send JavaScript to OTLP/HTTP behind TLS in production", () => {
    const s = firstRunSnippet("js", "https://ingestion.example.com", undefined);
    expect(s.protocol).toContain("OTLP over HTTP by default");
    expect(s.code).toContain('url: "https://ingestion.example.com/v1/traces"');
    expect(s.code).toContain("<your API key>");
  });
});

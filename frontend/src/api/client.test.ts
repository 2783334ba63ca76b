// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, buildUrl, errorMessageFromBody, request, seg } from "./client";
import { toPage } from "./endpoints";
import { otlpHttpSnippet, otlpHttpUrl, otlpTarget } from "../pages/ApiKeysPage";
import {
  formatDurationMicros,
  formatTimeOfDayMicros,
  formatTimestamp,
  isoToMicros,
  nanosToMicros,
} from "../lib/time";

describe("API client", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    delete window.runtimeConfig;
  });

  it("turns FastAPI error bodies into messages", () => {
    expect(errorMessageFromBody({ detail: "Invalid credentials" }, 401)).toBe("Invalid credentials");
    expect(
      errorMessageFromBody(
        { detail: [{ msg: "Field required" }, { msg: "Password must be at least 8 characters" }] },
        422,
      ),
    ).toBe("Field required. Password must be at least 8 characters");
    expect(errorMessageFromBody({ message: "m" }, 500)).toBe("m");
    expect(errorMessageFromBody(undefined, 502)).toBe("Request failed (502)");
  });

  it("uses the runtime API host and encodes segments", () => {
    window.runtimeConfig = { API_HOST: "https://api.example.com/" };
    expect(buildUrl("/x", { a: "1 2", b: undefined, c: false, d: true })).toBe(
      "https://api.example.com/x?a=1+2&d=true",
    );
    expect(seg("a/b c")).toBe("a%2Fb%20c");
    expect(() => seg("")).toThrow();
    delete window.runtimeConfig;
    expect(buildUrl("/y")).toBe("http://localhost:1323/y");
  });

  it("sends credentials and raises ApiError with detail", async () => {
    const fetchMock = vi.fn(
      async () => new Response(JSON.stringify({ detail: "API key not found" }), { status: 404 }),
    );
    vi.stubGlobal("fetch", fetchMock);
    await expect(request("/api_keys/x", { method: "DELETE" })).rejects.toEqual(
      new ApiError("API key not found", 404),
    );
    expect((fetchMock.mock.calls[0] as unknown[])[1]).toMatchObject({
      credentials: "include",
      method: "DELETE",
    });
  });

  it("reads listing metadata from headers", () => {
    const h = new Headers({
      "X-Next-Cursor": "c1",
      "X-Total-Count": "1234",
      "X-Total-Count-Approximate": "true",
    });
    expect(toPage([1, 2], h)).toEqual({
      items: [1, 2],
      next_cursor: "c1",
      total: 1234,
      totalApproximate: true,
      degraded: null,
      partial: false,
    });
    expect(toPage([1], new Headers({ "X-Junjo-Degraded": "ingestion-unavailable" }))).toMatchObject({
      next_cursor: null,
      total: null,
      degraded: "ingestion-unavailable",
    });
    expect(toPage([], new Headers({ "X-Junjo-Search-Partial": "time-budget" })).partial).toBe(true);
  });
});

describe("formatting", () => {
  it("parses microsecond ISO times and formats durations", () => {
    expect(
      isoToMicros("2026-01-01T00:00:01.000250+00:00") - isoToMicros("2026-01-01T00:00:00.000000+00:00"),
    ).toBe(1_000_250);
    expect(formatDurationMicros(123)).toBe("123µs");
    expect(formatDurationMicros(540_040)).toBe("540.04ms");
    expect(formatDurationMicros(6_740_000)).toBe("6.740s");
    expect(formatDurationMicros(2_000_000)).toBe("2s");
    expect(nanosToMicros("1795700000000001999")).toBe(1795700000000001);
    const us = Date.UTC(2026, 0, 1, 21, 35, 8) * 1000 + 305145;
    expect(formatTimeOfDayMicros(us, "utc")).toBe("21:35:08.305145");
    expect(formatTimestamp(us, "utc")).toBe("2026-01-01 21:35:08.305 UTC");
    expect(formatTimestamp(us, "utc", true)).toBe("2026-01-01 21:35:08.305145 UTC");
    expect(formatTimestamp(us, "local")).toMatch(/^2026-01-0[12] \d{2}:\d{2}:08\.305 UTC[+-±]\d{2}:\d{2}$/);
  });

  it("derives the OTLP target from the server's endpoint", () => {
    expect(otlpTarget("grpc://localhost:50051")).toEqual({ hostPort: "localhost:50051", insecure: true });
    expect(otlpTarget("https://ingestion.example.com")).toEqual({
      hostPort: "ingestion.example.com:443",
      insecure: false,
    });
    expect(otlpTarget(undefined).hostPort).toBe("localhost:50051");
    expect(otlpHttpUrl("grpc://localhost:50051")).toBe("http://localhost:4318/v1/traces");
    expect(otlpHttpUrl("https://ingestion.example.com")).toBe("https://ingestion.example.com/v1/traces");
    expect(otlpHttpSnippet("https://ingestion.example.com")).toContain(
      'OTLPSpanExporter(\n    endpoint="https://ingestion.example.com/v1/traces"',
    );
  });
});

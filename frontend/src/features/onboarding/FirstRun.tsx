/**
 * The home page before any span has arrived: a guided first run — create a key, pick an SDK, copy a
 * snippet with the install line, the endpoint and the key filled in — and a live "waiting" line. The
 * services page polls while it shows this, so it turns into the normal page when the first span lands.
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { system } from "../../api/endpoints";
import type { CreatedApiKey } from "../../api/types";
import { useAuth } from "../../auth/AuthProvider";
import { CopyButton } from "../../components/ui";
import { Segmented } from "../../components/Segmented";
import {
  CreateKeyForm,
  junjoExporterCode,
  otelPythonCode,
  otlpHttpUrl,
  otlpTarget,
} from "../../pages/ApiKeysPage";

type Sdk = "junjo" | "otel-python" | "js" | "env";

const SDK_LABELS: Record<Sdk, string> = {
  junjo: "Junjo (Python)",
  "otel-python": "OpenTelemetry Python",
  js: "JavaScript / TypeScript",
  env: "Environment variables",
};

/** Install line, protocol sentence and code for one SDK, with the endpoint and key filled in. */
export function firstRunSnippet(sdk: Sdk, endpoint: string | undefined, key: string | undefined) {
  const { hostPort, insecure } = otlpTarget(endpoint);
  const httpUrl = otlpHttpUrl(endpoint);
  const keyLine = `export JUNJO_AI_STUDIO_API_KEY=${key ?? "<your API key>"}`;
  switch (sdk) {
    case "junjo":
      return {
        install: "pip install junjo opentelemetry-sdk",
        protocol: `OTLP over gRPC to ${hostPort}${insecure ? " (no TLS)" : ""}.`,
        code: `${keyLine}

# app.py
import os
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from junjo.telemetry.junjo_otel_exporter import JunjoOtelExporter

provider = TracerProvider(resource=Resource.create({"service.name": "my-app"}))
${junjoExporterCode(endpoint)}
# ... run your Junjo workflows and agents; before exit: exporter.flush()`,
      };
    case "otel-python":
      return {
        install: "pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc",
        protocol: `OTLP over gRPC to ${hostPort}, the key in the x-junjo-api-key metadata.`,
        code: `${keyLine}

${otelPythonCode(endpoint)}`,
      };
    case "js":
      return {
        install:
          "npm install @opentelemetry/sdk-trace-node @opentelemetry/exporter-trace-otlp-http @opentelemetry/resources",
        protocol: `JavaScript exporters speak OTLP over HTTP by default: send to ${httpUrl} (not the gRPC port).`,
        code: `${keyLine}

import { NodeTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";

const exporter = new OTLPTraceExporter({
  url: "${httpUrl}",
  headers: { "x-junjo-api-key": process.env.JUNJO_AI_STUDIO_API_KEY },
});
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "my-app" }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
provider.register();`,
      };
    case "env":
      return {
        install: "Any OpenTelemetry SDK (Java, Go, .NET, Ruby, …) configured by the standard variables:",
        protocol: `OTLP over HTTP (http/protobuf) to ${httpUrl}, or over gRPC to ${hostPort}.`,
        code: `OTEL_SERVICE_NAME=my-app
OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${httpUrl}
OTEL_EXPORTER_OTLP_HEADERS=x-junjo-api-key=${key ?? "<your API key>"}

# or gRPC:
# OTEL_EXPORTER_OTLP_PROTOCOL=grpc
# OTEL_EXPORTER_OTLP_ENDPOINT=${insecure ? "http" : "https"}://${hostPort}`,
      };
  }
}

export function FirstRun() {
  const { isAdmin } = useAuth();
  const cfg = useQuery({ queryKey: ["server-config"], queryFn: system.config, staleTime: 60_000 });
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [sdk, setSdk] = useState<Sdk>("junjo");
  const snippet = firstRunSnippet(sdk, cfg.data?.otlp_endpoint, created?.key);
  return (
    <section className="card first-run" aria-label="Get started">
      <h2>Send your first trace</h2>
      <ol className="first-run-steps">
        <li>
          <h3>Create an API key</h3>
          {created ? (
            <p>
              Key <strong>{created.name}</strong> created — it is filled into the snippet below and shown only
              this once. <CopyButton value={created.key} label="Copy API key" />
            </p>
          ) : isAdmin ? (
            <CreateKeyForm
              onCreated={setCreated}
              label="Create your first API key"
              initialName="my first app"
              className="row gap wrap"
            />
          ) : (
            <p className="muted">Ask an admin of this Studio for an API key (viewers cannot create keys).</p>
          )}
        </li>
        <li>
          <h3>Instrument your app</h3>
          <Segmented
            label="SDK"
            options={(Object.keys(SDK_LABELS) as Sdk[]).map((s) => ({ value: s, label: SDK_LABELS[s] }))}
            value={sdk}
            onChange={setSdk}
            wrap
          />
          <p className="muted small">{snippet.protocol}</p>
          <div className="row gap">
            <code className="install-line" aria-label="Install command">
              {snippet.install}
            </code>
            <CopyButton value={snippet.install} label="Copy install command" />
          </div>
          <div className="row gap" style={{ marginTop: 6 }}>
            <span className="grow" />
            <CopyButton value={snippet.code} label="Copy snippet" />
          </div>
          <pre className="code" aria-label={`${SDK_LABELS[sdk]} snippet`}>
            {snippet.code}
          </pre>
        </li>
        <li>
          <h3>Run it</h3>
          <p role="status" aria-live="polite" className="waiting">
            <span className="pulse" aria-hidden /> Waiting for the first span… this page turns into your
            services overview as soon as it arrives.
          </p>
        </li>
      </ol>
    </section>
  );
}

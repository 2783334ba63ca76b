/** API keys: create (full key shown once), list, delete; plus copy-paste instrumentation snippets. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { apiKeys, observability, system } from "../api/endpoints";
import type { CreatedApiKey } from "../api/types";
import { SecretReveal } from "../components/SecretReveal";
import { Segmented } from "../components/Segmented";
import { CopyButton, Empty, ErrorBox, Loading, PageHeader } from "../components/ui";
import { Timestamp } from "../components/Timestamp";

/** `grpc://host:port` / `http://host:port` / `host:port` → `host:port` plus whether TLS is expected. */
export function otlpTarget(endpoint: string | undefined): { hostPort: string; insecure: boolean } {
  const raw = (endpoint || "grpc://localhost:50051").trim();
  const m = /^(\w+):\/\/(.*)$/.exec(raw);
  const scheme = m ? m[1].toLowerCase() : "grpc";
  let hostPort = (m ? m[2] : raw).replace(/\/+$/, "");
  const insecure = scheme !== "https" && scheme !== "grpcs";
  if (!/:\d+$/.test(hostPort)) hostPort += insecure ? ":50051" : ":443";
  return { hostPort, insecure };
}

/** Python lines that make junjo's exporter (key from the environment) the tracer provider's. */
export function junjoExporterCode(endpoint: string | undefined): string {
  const { hostPort, insecure } = otlpTarget(endpoint);
  return `exporter = JunjoOtelExporter(
    endpoint="${hostPort}",
    api_key=os.environ["JUNJO_AI_STUDIO_API_KEY"],
    insecure=${insecure ? "True" : "False"},
)
provider.add_span_processor(exporter.span_processor)
trace.set_tracer_provider(provider)`;
}

export function junjoSnippet(endpoint: string | undefined): string {
  return `import os
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry import trace
from junjo.telemetry.junjo_otel_exporter import JunjoOtelExporter

provider = TracerProvider(resource=Resource.create({"service.name": "my-app"}))
# This Studio's OTLP/gRPC endpoint, stated explicitly: junjo's own examples default to port 26155.
${junjoExporterCode(endpoint)}

# ... run your Junjo workflows; before exit:
exporter.flush()`;
}

/** A Python program's tracing through the plain OpenTelemetry OTLP/gRPC exporter, key from the environment. */
export function otelPythonCode(endpoint: string | undefined): string {
  const { hostPort, insecure } = otlpTarget(endpoint);
  return `import os
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "my-app"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
    endpoint="${hostPort}",
    insecure=${insecure ? "True" : "False"},
    headers=(("x-junjo-api-key", os.environ["JUNJO_AI_STUDIO_API_KEY"]),),
)))
trace.set_tracer_provider(provider)`;
}

export function otelSnippet(endpoint: string | undefined): string {
  const { hostPort, insecure } = otlpTarget(endpoint);
  return `${otelPythonCode(endpoint)}

# Or with environment variables only (any language's OTLP/gRPC exporter):
#   OTEL_EXPORTER_OTLP_ENDPOINT=${insecure ? "http" : "https"}://${hostPort}
#   OTEL_EXPORTER_OTLP_HEADERS=x-junjo-api-key=<your key>`;
}

/** The OTLP/HTTP traces URL on the same host: port 4318 locally, `/v1/traces` behind Caddy (TLS). */
export function otlpHttpUrl(endpoint: string | undefined): string {
  const { hostPort, insecure } = otlpTarget(endpoint);
  const host = hostPort.replace(/:\d+$/, "");
  return insecure ? `http://${host}:4318/v1/traces` : `https://${host}/v1/traces`;
}

export function otlpHttpSnippet(endpoint: string | undefined): string {
  const url = otlpHttpUrl(endpoint);
  return `# Python: pip install opentelemetry-exporter-otlp-proto-http
import os
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

exporter = OTLPSpanExporter(
    endpoint="${url}",
    headers={"x-junjo-api-key": os.environ["JUNJO_AI_STUDIO_API_KEY"]},
)

# Any OpenTelemetry SDK, through environment variables:
#   OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
#   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${url}
#   OTEL_EXPORTER_OTLP_HEADERS=x-junjo-api-key=<your key>

# JavaScript: npm install @opentelemetry/exporter-trace-otlp-http
#   new OTLPTraceExporter({ url: "${url}", headers: { "x-junjo-api-key": key } })`;
}

const SNIPPETS = { junjo: junjoSnippet, otel: otelSnippet, http: otlpHttpSnippet };
const SNIPPET_LABELS = { junjo: "Junjo SDK", otel: "OpenTelemetry", http: "OTLP/HTTP" };

function InstrumentPanel({ defaultOpen }: { defaultOpen: boolean }) {
  const cfg = useQuery({ queryKey: ["server-config"], queryFn: system.config, staleTime: 60_000 });
  const [tab, setTab] = useState<keyof typeof SNIPPETS>("junjo");
  const endpoint = cfg.data?.otlp_endpoint;
  const code = SNIPPETS[tab](endpoint);
  return (
    <details className="card instrument" open={defaultOpen}>
      <summary>
        <h2>Instrument your app</h2>
      </summary>
      <p className="muted">
        Send traces over OTLP/gRPC to <code>{otlpTarget(endpoint).hostPort}</code> with your key in the{" "}
        <code>x-junjo-api-key</code> header, or over OTLP/HTTP to <code>{otlpHttpUrl(endpoint)}</code>.
        {cfg.data?.environment ? ` (${cfg.data.environment})` : ""}
      </p>
      <div className="row gap">
        <Segmented
          label="Snippet"
          options={(Object.keys(SNIPPETS) as (keyof typeof SNIPPETS)[]).map((name) => ({
            value: name,
            label: SNIPPET_LABELS[name],
          }))}
          value={tab}
          onChange={setTab}
        />
        <CopyButton value={code} label="Copy snippet" />
      </div>
      <pre className="code" aria-label={`${SNIPPET_LABELS[tab]} snippet`}>
        {code}
      </pre>
    </details>
  );
}

/** The key-creation form; also the first step of the first-run card on the home page. */
export function CreateKeyForm({
  onCreated,
  label = "Create API key",
  initialName = "",
  className = "card row gap wrap",
}: {
  onCreated: (k: CreatedApiKey) => void;
  label?: string;
  initialName?: string;
  className?: string;
}) {
  const qc = useQueryClient();
  const [name, setName] = useState(initialName);
  const create = useMutation({
    mutationFn: (n: string) => apiKeys.create(n),
    onSuccess: (k) => {
      setName("");
      onCreated(k);
      void qc.invalidateQueries({ queryKey: ["api-keys"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(name);
  };
  return (
    <form className={className} onSubmit={submit} aria-label={label}>
      <label className="grow">
        Key name
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          placeholder="e.g. production app"
        />
      </label>
      <button className="btn btn-primary" type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create API Key"}
      </button>
      <ErrorBox error={create.error} />
    </form>
  );
}

export default function ApiKeysPage() {
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: apiKeys.list, staleTime: 2000 });
  const services = useQuery({ queryKey: ["services"], queryFn: observability.services, staleTime: 10_000 });
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => apiKeys.remove(id),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  return (
    <div className="page">
      <PageHeader title="API Keys" sub="Keys let your applications deliver telemetry to this server." />
      <CreateKeyForm onCreated={setCreated} />
      {created ? (
        <SecretReveal
          what="API key"
          name={created.name}
          secret={created.key}
          testId="new-api-key"
          className="card"
          onDone={() => setCreated(null)}
        />
      ) : null}
      <ErrorBox error={remove.error} />
      {keys.isLoading ? (
        <Loading />
      ) : keys.error ? (
        <ErrorBox error={keys.error} />
      ) : !keys.data?.length ? (
        <Empty>No API keys yet. Create one to start sending telemetry.</Empty>
      ) : (
        <table className="table" aria-label="API keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix ? `${k.prefix}…` : "••••"}</code>
                </td>
                <td>
                  <Timestamp iso={k.created_at} />
                </td>
                <td className="right">
                  <button
                    type="button"
                    className="btn btn-danger btn-xs"
                    aria-label={`Delete API key ${k.name}`}
                    disabled={remove.isPending}
                    onClick={() => {
                      if (
                        window.confirm(
                          `Delete API key "${k.name}"? Applications using it stop delivering telemetry.`,
                        )
                      )
                        remove.mutate(k.id);
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <InstrumentPanel defaultOpen={services.isSuccess ? services.data.length === 0 : true} />
    </div>
  );
}

// Records one trace with the OpenTelemetry JavaScript SDK, then exports the very same spans through
// each OTLP exporter named on the command line: `node send.mjs http-json=URL http-proto=URL grpc=HOST:PORT`.
// The API key comes the way users configure it, from OTEL_EXPORTER_OTLP_HEADERS.
// Prints {"trace_id": ..., "results": {exporter: result code}} as JSON.
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

const recorder = new InMemorySpanExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ "service.name": "node-sdk-app", "deployment.environment": "test" }),
  spanProcessors: [new SimpleSpanProcessor({ exporter: recorder })],
});
const tracer = provider.getTracer("node-exporter-test", "1.0.0");

{
  const root = tracer.startSpan("workflow", { kind: SpanKind.SERVER });
  root.setAttributes({
    "junjo.span_type": "workflow",
    "state.json": JSON.stringify({ messages: ["héllo", "wörld"], count: 2 }),
    big: 2 ** 53 - 1,
    ratio: 0.25,
    ok: true,
    tags: ["a", "b"],
  });
  const child = tracer.startSpan(
    "llm call",
    { kind: SpanKind.CLIENT, links: [{ context: root.spanContext(), attributes: { why: "retry" } }] },
    trace.setSpan(context.active(), root),
  );
  child.addEvent("prompt", { tokens: 12 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: "rate limited" });
  child.end();
  root.end();
}

await provider.forceFlush(); // the processor hands finished spans to the recorder asynchronously

const exporters = {
  "http-json": (url) => new JsonExporter({ url }),
  "http-proto": (url) => new ProtoExporter({ url, compression: "gzip" }),
  grpc: (url) => new GrpcExporter({ url: `http://${url}` }),
};
const spans = recorder.getFinishedSpans();
const results = {};
for (const arg of process.argv.slice(2)) {
  const [name, url] = arg.split(/=(.*)/s);
  const exporter = exporters[name](url);
  results[name] = await new Promise((resolve) => exporter.export(spans, (result) => resolve(result)));
  await exporter.shutdown();
}
const ok = Object.values(results).every((r) => r.code === 0);
console.log(JSON.stringify({ trace_id: spans[0].spanContext().traceId, results }));
process.exit(ok ? 0 : 1);

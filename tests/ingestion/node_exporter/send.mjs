// Records one trace with the OpenTelemetry JavaScript SDK, then exports the very same spans through
// each OTLP exporter named on the command line: `node send.mjs http-json=URL http-proto=URL grpc=HOST:PORT`.
// With --distinct-traces, the k-th exporter (from 0) sends a twin whose trace id has its first byte
// XOR k, so all twins can share one server. The API key comes the way users configure it, from
// OTEL_EXPORTER_OTLP_HEADERS. Prints {"trace_id": ..., "results": {exporter: {code, trace_id}}}.
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
/** The trace id with its first byte XOR k. */
const retraceId = (traceId, k) => (parseInt(traceId.slice(0, 2), 16) ^ k).toString(16).padStart(2, "0") + traceId.slice(2);

/** `span` as seen by the exporters, moved to trace id XOR k (its parent and same-trace links too). */
function retraced(span, k) {
  const original = span.spanContext().traceId;
  const move = (ctx) => (ctx && ctx.traceId === original ? { ...ctx, traceId: retraceId(original, k) } : ctx);
  const twin = Object.create(span);
  const context = move(span.spanContext());
  twin.spanContext = () => context;
  Object.defineProperty(twin, "parentSpanContext", { value: move(span.parentSpanContext) });
  Object.defineProperty(twin, "links", { value: span.links.map((l) => ({ ...l, context: move(l.context) })) });
  return twin;
}

const distinct = process.argv.includes("--distinct-traces");
const spans = recorder.getFinishedSpans();
const results = {};
const targets = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
for (const [k, arg] of targets.entries()) {
  const [name, url] = arg.split(/=(.*)/s);
  const exporter = exporters[name](url);
  const sent = distinct ? spans.map((span) => retraced(span, k)) : spans;
  const result = await new Promise((resolve) => exporter.export(sent, (r) => resolve(r)));
  results[name] = { code: result.code, trace_id: sent[0].spanContext().traceId };
  await exporter.shutdown();
}
const ok = Object.values(results).every((r) => r.code === 0);
console.log(JSON.stringify({ trace_id: spans[0].spanContext().traceId, results }));
process.exit(ok ? 0 : 1);

/** Hand-built spans and graph snapshots in the SDK 0.69 shapes (junjo-telemetry §2) for unit tests. */
import type { GraphSnapshot, Span } from "../api/types";

let clock = Date.UTC(2026, 10, 26, 12, 0, 0) * 1000; // µs

function iso(us: number): string {
  return new Date(Math.floor(us / 1000))
    .toISOString()
    .replace(/\.\d{3}Z$/, `.${String(us % 1_000_000).padStart(6, "0")}+00:00`);
}

export function span(partial: Partial<Span> & { span_id: string; name: string }, durUs = 1000): Span {
  const start = clock;
  clock += 10;
  return {
    trace_id: "a".repeat(32),
    parent_span_id: null,
    service_name: "svc",
    kind: "INTERNAL",
    start_time: iso(start),
    end_time: iso(start + durUs),
    status_code: "0",
    status_message: "",
    attributes_json: {},
    events_json: [],
    links_json: [],
    resource_attributes_json: {},
    trace_flags: 1,
    trace_state: null,
    dropped_attributes_count: 0,
    dropped_events_count: 0,
    dropped_links_count: 0,
    resource_dropped_attributes_count: 0,
    ...partial,
  };
}

const ORIGIN_US = Date.UTC(2026, 0, 1) * 1000;

/** A span from `startMs` to `endMs` after a fixed origin, named by its id (for timing tests). */
export function spanAt(id: string, parent: string | null, startMs: number, endMs: number): Span {
  return span({
    span_id: id,
    name: id,
    parent_span_id: parent,
    start_time: iso(ORIGIN_US + startMs * 1000),
    end_time: iso(ORIGIN_US + endMs * 1000),
  });
}

export const graph: GraphSnapshot = {
  v: 2,
  graphStructuralId: "graph_1",
  nodes: [
    { nodeRuntimeId: "n_start", nodeLabel: "StartNode", nodeType: "StartNode" },
    {
      nodeRuntimeId: "n_conc",
      nodeLabel: "Load",
      nodeType: "RunConcurrent",
      isConcurrentSubgraph: true,
      childNodeRuntimeIds: ["n_a", "n_b"],
    },
    { nodeRuntimeId: "n_a", nodeLabel: "LoadA", nodeType: "LoadA" },
    { nodeRuntimeId: "n_b", nodeLabel: "LoadB", nodeType: "LoadB" },
    {
      nodeRuntimeId: "n_sub",
      nodeLabel: "MySubflow",
      nodeType: "Subflow",
      isSubflow: true,
      subflowGraphStructuralId: "graph_sub",
      subflowSourceNodeRuntimeId: "s_src",
      subflowSinkNodeRuntimeIds: ["s_sink"],
    },
    { nodeRuntimeId: "s_src", nodeLabel: "SubSource" },
    { nodeRuntimeId: "s_sink", nodeLabel: "SubSink" },
    { nodeRuntimeId: "n_yes", nodeLabel: "YesNode" },
    { nodeRuntimeId: "n_no", nodeLabel: "NoNode" },
    { nodeRuntimeId: "n_end", nodeLabel: "EndNode" },
  ],
  edges: [
    {
      tailNodeRuntimeId: "n_start",
      headNodeRuntimeId: "n_conc",
      edgeConditionLabel: null,
      edgeScope: "explicit",
    },
    {
      tailNodeRuntimeId: "n_conc",
      headNodeRuntimeId: "n_sub",
      edgeConditionLabel: null,
      edgeScope: "explicit",
    },
    {
      tailNodeRuntimeId: "s_src",
      headNodeRuntimeId: "s_sink",
      edgeConditionLabel: null,
      edgeScope: "subflow",
      parentSubflowRuntimeId: "n_sub",
    },
    {
      tailNodeRuntimeId: "n_sub",
      headNodeRuntimeId: "n_yes",
      edgeConditionLabel: "is_yes",
      edgeScope: "explicit",
    },
    {
      tailNodeRuntimeId: "n_sub",
      headNodeRuntimeId: "n_no",
      edgeConditionLabel: "is_no",
      edgeScope: "explicit",
    },
    {
      tailNodeRuntimeId: "n_yes",
      headNodeRuntimeId: "n_end",
      edgeConditionLabel: null,
      edgeScope: "explicit",
    },
    {
      tailNodeRuntimeId: "n_no",
      headNodeRuntimeId: "n_end",
      edgeConditionLabel: null,
      edgeScope: "explicit",
    },
  ],
};

const ev = (id: string, seq: number, action: string, patch: unknown[], ns: string, store = "st1") => ({
  name: "set_state",
  timeUnixNano: ns,
  attributes: {
    id,
    "junjo.store.id": store,
    "junjo.store.name": "DemoStore",
    "junjo.store.action": action,
    "junjo.store.transition.sequence": seq,
    "junjo.state_json_patch": JSON.stringify(patch),
  },
  droppedAttributesCount: 0,
});

/** A workflow with a concurrent group, a subflow, a conditional branch and a failing node. */
export function workflowTrace(): Span[] {
  const wf = span(
    {
      span_id: "w".repeat(16),
      name: "DemoWorkflow",
      attributes_json: {
        "junjo.span_type": "workflow",
        "junjo.workflow.store.id": "st1",
        "junjo.workflow.execution_graph_snapshot": JSON.stringify(graph),
        "junjo.workflow.state.start": JSON.stringify({ count: 0, items: [] }),
        "junjo.workflow.state.end": JSON.stringify({ count: 2, items: ["a"] }),
        "junjo.store.transition.start": 0,
        "junjo.store.transition.end": 2,
        "error.type": "ValueError",
      },
      status_code: "2",
    },
    100000,
  );
  const p = { parent_span_id: wf.span_id };
  return [
    wf,
    span({
      ...p,
      span_id: "1".repeat(16),
      name: "StartNode",
      attributes_json: { "junjo.span_type": "node", "junjo.executable_runtime_id": "n_start" },
      events_json: [
        ev("e1", 1, "set_count", [{ op: "replace", path: "/count", value: 1 }], "1795700000000001000"),
      ],
    }),
    span({
      ...p,
      span_id: "2".repeat(16),
      name: "Load",
      attributes_json: { "junjo.span_type": "run_concurrent", "junjo.executable_runtime_id": "n_conc" },
    }),
    span({
      parent_span_id: "2".repeat(16),
      span_id: "3".repeat(16),
      name: "LoadA",
      attributes_json: { "junjo.span_type": "node", "junjo.executable_runtime_id": "n_a" },
      events_json: [
        ev(
          "e2",
          2,
          "add_item",
          [
            { op: "replace", path: "/count", value: 2 },
            { op: "add", path: "/items/-", value: "a" },
          ],
          "1795700000000002000",
        ),
      ],
    }),
    span({
      ...p,
      span_id: "4".repeat(16),
      name: "MySubflow",
      attributes_json: {
        "junjo.span_type": "subflow",
        "junjo.executable_structural_id": "graph_sub",
        "junjo.workflow.store.id": "st2",
      },
    }),
    span({
      parent_span_id: "4".repeat(16),
      span_id: "5".repeat(16),
      name: "SubSource",
      attributes_json: { "junjo.span_type": "node", "junjo.executable_runtime_id": "s_src" },
    }),
    span({
      ...p,
      span_id: "6".repeat(16),
      name: "YesNode",
      status_code: "2",
      attributes_json: {
        "junjo.span_type": "node",
        "junjo.executable_runtime_id": "n_yes",
        "error.type": "ValueError",
      },
      events_json: [
        {
          name: "exception",
          timeUnixNano: "1795700000000003000",
          attributes: {
            "exception.type": "ValueError",
            "exception.message": "boom",
            "exception.stacktrace": "Traceback...\nValueError: boom",
          },
        },
      ],
    }),
    span({
      parent_span_id: "6".repeat(16),
      span_id: "7".repeat(16),
      name: "chat gpt",
      attributes_json: {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-x",
        "llm.token_count.total": 12,
      },
    }),
  ];
}

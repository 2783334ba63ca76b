/**
 * Layered left-to-right layout of a Junjo execution-graph snapshot (pure, no layout library):
 * subflow internals are hidden in the parent graph, RunConcurrent children are drawn stacked inside
 * their group box, layers come from longest paths over the graph minus back edges, and rows within
 * a layer are ordered by their predecessors' positions to keep edges short.
 */
import type { GraphEdge, GraphNode, GraphSnapshot } from "../../api/types";

export interface LayoutNode {
  id: string;
  label: string;
  kind: "node" | "subflow" | "group";
  x: number;
  y: number;
  w: number;
  h: number;
  /** Runtime id of the group this node sits in, if any. */
  groupId?: string;
}

export interface LayoutEdge {
  id: string;
  from: string;
  to: string;
  path: string;
  conditional: boolean;
  label: string | null;
  labelX: number;
  labelY: number;
  back: boolean;
}

export interface GraphLayout {
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  width: number;
  height: number;
}

const NODE_H = 36;
const GAP_X = 64;
const GAP_Y = 22;
const PAD = 16;
const GROUP_PAD = 12;
const GROUP_TITLE = 22;

export function nodeWidth(label: string): number {
  return Math.max(96, Math.min(240, Math.round(label.length * 7.2) + 28));
}

export function nodeLabel(n: GraphNode): string {
  return n.nodeLabel || n.nodeType || n.nodeRuntimeId;
}

/** Nodes that belong to a subflow's inner graph and must not appear in the parent graph. */
export function hiddenNodeIds(g: GraphSnapshot): Set<string> {
  const hidden = new Set<string>();
  for (const n of g.nodes) {
    if (!n.isSubflow) continue;
    if (n.subflowSourceNodeRuntimeId) hidden.add(n.subflowSourceNodeRuntimeId);
    for (const s of n.subflowSinkNodeRuntimeIds ?? []) hidden.add(s);
  }
  for (const e of g.edges) {
    if (e.edgeScope === "subflow") {
      hidden.add(e.tailNodeRuntimeId);
      hidden.add(e.headNodeRuntimeId);
    }
  }
  for (const n of g.nodes) if (n.isSubflow) hidden.delete(n.nodeRuntimeId);
  return hidden;
}

interface Unit {
  id: string;
  node: GraphNode;
  children: GraphNode[];
  w: number;
  h: number;
}

export function layoutGraph(g: GraphSnapshot): GraphLayout {
  const hidden = hiddenNodeIds(g);
  const byId = new Map(g.nodes.map((n) => [n.nodeRuntimeId, n] as const));
  const childOf = new Map<string, string>();
  for (const n of g.nodes)
    if (n.isConcurrentSubgraph)
      for (const c of n.childNodeRuntimeIds ?? []) if (byId.has(c)) childOf.set(c, n.nodeRuntimeId);

  const units: Unit[] = [];
  const unitOf = new Map<string, string>();
  for (const n of g.nodes) {
    if (hidden.has(n.nodeRuntimeId) || childOf.has(n.nodeRuntimeId)) continue;
    if (n.isConcurrentSubgraph) {
      const children = (n.childNodeRuntimeIds ?? [])
        .map((c) => byId.get(c))
        .filter((c): c is GraphNode => !!c);
      const innerW = children.reduce((w, c) => Math.max(w, nodeWidth(nodeLabel(c))), nodeWidth(nodeLabel(n)));
      const h =
        GROUP_TITLE +
        GROUP_PAD +
        children.length * NODE_H +
        Math.max(0, children.length - 1) * 10 +
        GROUP_PAD;
      units.push({
        id: n.nodeRuntimeId,
        node: n,
        children,
        w: innerW + 2 * GROUP_PAD,
        h: Math.max(h, NODE_H + GROUP_TITLE),
      });
      for (const c of children) unitOf.set(c.nodeRuntimeId, n.nodeRuntimeId);
    } else {
      units.push({ id: n.nodeRuntimeId, node: n, children: [], w: nodeWidth(nodeLabel(n)), h: NODE_H });
    }
    unitOf.set(n.nodeRuntimeId, n.nodeRuntimeId);
  }
  const unitIndex = new Map(units.map((u, i) => [u.id, i] as const));

  const visibleEdges: GraphEdge[] = g.edges.filter(
    (e) => e.edgeScope !== "subflow" && unitOf.has(e.tailNodeRuntimeId) && unitOf.has(e.headNodeRuntimeId),
  );
  const succ = new Map<string, string[]>(units.map((u) => [u.id, []]));
  for (const e of visibleEdges) {
    const a = unitOf.get(e.tailNodeRuntimeId) as string;
    const b = unitOf.get(e.headNodeRuntimeId) as string;
    if (a !== b) succ.get(a)?.push(b);
  }

  // Back edges via DFS from sources in declaration order. The DFS keeps its own stack (a node
  // and the index of its next successor): graphs are telemetry, and a long chain must not
  // exhaust the JavaScript call stack.
  const indeg = new Map<string, number>(units.map((u) => [u.id, 0] as [string, number]));
  for (const [, bs] of succ) for (const b of bs) indeg.set(b, (indeg.get(b) ?? 0) + 1);
  const back = new Set<string>();
  const state = new Map<string, 1 | 2>();
  const dfs = (start: string) => {
    const stack: [string, number][] = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [u, next] = top;
      const vs = succ.get(u) ?? [];
      if (next >= vs.length) {
        state.set(u, 2);
        stack.pop();
        continue;
      }
      top[1] = next + 1;
      const v = vs[next];
      if (state.get(v) === 1) back.add(`${u}->${v}`);
      else if (!state.has(v)) {
        state.set(v, 1);
        stack.push([v, 0]);
      }
    }
  };
  for (const u of units) if ((indeg.get(u.id) ?? 0) === 0 && !state.has(u.id)) dfs(u.id);
  for (const u of units) if (!state.has(u.id)) dfs(u.id);

  // Longest-path layering over the DAG (Kahn order).
  const layer = new Map<string, number>(units.map((u) => [u.id, 0] as [string, number]));
  const dagIn = new Map<string, number>(units.map((u) => [u.id, 0] as [string, number]));
  for (const [a, bs] of succ)
    for (const b of bs) if (!back.has(`${a}->${b}`)) dagIn.set(b, (dagIn.get(b) ?? 0) + 1);
  const queue = units.filter((u) => dagIn.get(u.id) === 0).map((u) => u.id);
  for (let head = 0; head < queue.length; head++) {
    const a = queue[head];
    for (const b of succ.get(a) ?? []) {
      if (back.has(`${a}->${b}`)) continue;
      layer.set(b, Math.max(layer.get(b) ?? 0, (layer.get(a) ?? 0) + 1));
      dagIn.set(b, (dagIn.get(b) ?? 0) - 1);
      if (dagIn.get(b) === 0) queue.push(b);
    }
  }

  const layers: Unit[][] = [];
  for (const u of units) (layers[layer.get(u.id) ?? 0] ??= []).push(u);
  const preds = new Map<string, string[]>(units.map((u) => [u.id, []]));
  for (const [a, bs] of succ) for (const b of bs) if (!back.has(`${a}->${b}`)) preds.get(b)?.push(a);
  const rowPos = new Map<string, number>();
  layers.forEach((L, li) => {
    if (li > 0) {
      const score = (u: Unit) => {
        const ps = preds.get(u.id) ?? [];
        return ps.length
          ? ps.reduce((s, p) => s + (rowPos.get(p) ?? 0), 0) / ps.length
          : (unitIndex.get(u.id) ?? 0);
      };
      L.sort((a, b) => score(a) - score(b) || (unitIndex.get(a.id) ?? 0) - (unitIndex.get(b.id) ?? 0));
    }
    L.forEach((u, i) => rowPos.set(u.id, i));
  });

  const layerH = layers.map(
    (L) => (L ?? []).reduce((s, u) => s + u.h, 0) + Math.max(0, (L ?? []).length - 1) * GAP_Y,
  );
  const totalH = layerH.reduce((h, lh) => Math.max(h, lh), NODE_H) + 2 * PAD;
  const nodes: LayoutNode[] = [];
  const box = new Map<string, LayoutNode>();
  let x = PAD;
  layers.forEach((L, li) => {
    if (!L) return;
    const colW = L.reduce((w, u) => Math.max(w, u.w), 0);
    let y = (totalH - layerH[li]) / 2;
    for (const u of L) {
      const ux = x + (colW - u.w) / 2;
      if (u.children.length || u.node.isConcurrentSubgraph) {
        const gnode: LayoutNode = {
          id: u.id,
          label: nodeLabel(u.node),
          kind: "group",
          x: ux,
          y,
          w: u.w,
          h: u.h,
        };
        nodes.push(gnode);
        box.set(u.id, gnode);
        let cy = y + GROUP_TITLE + GROUP_PAD;
        for (const c of u.children) {
          const cn: LayoutNode = {
            id: c.nodeRuntimeId,
            label: nodeLabel(c),
            kind: c.isSubflow ? "subflow" : "node",
            x: ux + GROUP_PAD,
            y: cy,
            w: u.w - 2 * GROUP_PAD,
            h: NODE_H,
            groupId: u.id,
          };
          nodes.push(cn);
          box.set(c.nodeRuntimeId, cn);
          cy += NODE_H + 10;
        }
      } else {
        const n: LayoutNode = {
          id: u.id,
          label: nodeLabel(u.node),
          kind: u.node.isSubflow ? "subflow" : "node",
          x: ux,
          y,
          w: u.w,
          h: NODE_H,
        };
        nodes.push(n);
        box.set(u.id, n);
      }
      y += u.h + GAP_Y;
    }
    x += colW + GAP_X;
  });
  const width = Math.max(x - GAP_X + PAD, 120);

  const edges: LayoutEdge[] = visibleEdges.map((e, i) => {
    const fromU = unitOf.get(e.tailNodeRuntimeId) as string;
    const toU = unitOf.get(e.headNodeRuntimeId) as string;
    const a = box.get(fromU) as LayoutNode;
    const b = box.get(toU) as LayoutNode;
    const isBack = back.has(`${fromU}->${toU}`) || fromU === toU;
    let path: string;
    let lx: number;
    let ly: number;
    if (!isBack) {
      const x1 = a.x + a.w;
      const y1 = a.y + a.h / 2;
      const x2 = b.x;
      const y2 = b.y + b.h / 2;
      const mx = (x1 + x2) / 2;
      path = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
      lx = mx;
      ly = (y1 + y2) / 2 - 4;
    } else {
      const x1 = a.x + a.w / 2;
      const y1 = a.y + a.h;
      const x2 = b.x + b.w / 2;
      const y2 = b.y + b.h;
      const dip = Math.max(y1, y2) + 28;
      path = `M${x1},${y1} C${x1},${dip} ${x2},${dip} ${x2},${y2}`;
      lx = (x1 + x2) / 2;
      ly = dip - 4;
    }
    return {
      id: e.edgeStructuralId ? `${e.edgeStructuralId}:${i}` : `e${i}`,
      from: e.tailNodeRuntimeId,
      to: e.headNodeRuntimeId,
      path,
      conditional: e.edgeConditionLabel !== null && e.edgeConditionLabel !== undefined,
      label: e.edgeConditionLabel ?? null,
      labelX: lx,
      labelY: ly,
      back: isBack,
    };
  });
  const hasBack = edges.some((e) => e.back);
  return { nodes, edges, width, height: totalH + (hasBack ? 36 : 0) };
}

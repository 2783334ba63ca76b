/**
 * Span tree with a time-bar waterfall: each row shows icon, name, duration (and tokens for LLM spans),
 * a bar positioned on the trace's time axis with a tick per event (exceptions red), and marks the
 * path from a failed span up to the root.
 * ↑/↓ move the selection, ←/→ collapse/expand (unless the page uses them).
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from "react";
import type { Span } from "../../api/types";
import {
  displayName,
  formatCost,
  ICON_GLYPH,
  ICON_LABEL,
  isCancelled,
  isLlm,
  llmTag,
  spanIcon,
  tokenCounts,
} from "../../lib/spans";
import { formatDurationMicros, isoToMicros, nanosToMicros, spanDurationMicros } from "../../lib/time";
import { flattenWithExtras, searchTree, type ExtraItem, type SpanTree, type TreeNode } from "./tree";

export interface SpanTreeProps<T> {
  tree: SpanTree;
  roots?: TreeNode[];
  selectedId?: string;
  onSelect: (spanId: string) => void;
  query?: string;
  extrasFor?: (span: Span) => ExtraItem<T>[];
  renderExtra?: (payload: T) => ReactNode;
  label?: string;
  rangeUs?: [number, number];
  /** ←/→ collapse/expand (off where the page uses them, e.g. state stepping). */
  arrowCollapse?: boolean;
  /** Spans to accent (the critical path). */
  highlight?: Set<string>;
}

/** From this many rows on, only the rows in view (plus a margin) are in the DOM. */
export const VIRTUAL_FROM_ROWS = 400;
const ROW_PX = 24;
const OVERSCAN_ROWS = 40;

function scrollParent(el: HTMLElement | null): HTMLElement | null {
  for (let cur = el?.parentElement ?? null; cur; cur = cur.parentElement) {
    const o = getComputedStyle(cur).overflowY;
    if (o === "auto" || o === "scroll") return cur;
  }
  return null;
}

/** The [first, last) rows to render for a list of `count` fixed-height rows inside its scroller. */
function useVisibleRows(list: RefObject<HTMLUListElement | null>, count: number, enabled: boolean) {
  const [range, setRange] = useState<[number, number]>([0, Math.min(count, 2 * OVERSCAN_ROWS)]);
  useLayoutEffect(() => {
    if (!enabled) return;
    const el = list.current;
    const scroller = scrollParent(el);
    const update = () => {
      if (!el) return;
      const listTop = el.getBoundingClientRect().top;
      const viewTop = scroller ? scroller.getBoundingClientRect().top : 0;
      const viewHeight = scroller ? scroller.clientHeight : window.innerHeight;
      const offset = viewTop - listTop;
      const first = Math.max(0, Math.floor(offset / ROW_PX) - OVERSCAN_ROWS);
      const last = Math.min(count, Math.ceil((offset + viewHeight) / ROW_PX) + OVERSCAN_ROWS);
      setRange((prev) => (prev[0] === first && prev[1] === last ? prev : [first, last]));
    };
    update();
    const target: HTMLElement | Window = scroller ?? window;
    target.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    return () => {
      target.removeEventListener("scroll", update);
      window.removeEventListener("resize", update);
    };
  }, [list, count, enabled]);
  return enabled ? range : ([0, count] as [number, number]);
}

export function SpanTreeView<T = never>({
  tree,
  roots,
  selectedId,
  onSelect,
  query = "",
  extrasFor,
  renderExtra,
  label = "Span tree",
  rangeUs,
  arrowCollapse = true,
  highlight,
}: SpanTreeProps<T>) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const search = useMemo(() => searchTree(tree, query), [tree, query]);
  const items = useMemo(
    () => flattenWithExtras<T>(roots ?? tree.roots, collapsed, extrasFor ?? (() => []), search?.visible),
    [roots, tree, collapsed, extrasFor, search],
  );
  const [t0, t1] = rangeUs ?? [tree.startUs, tree.endUs];
  const total = Math.max(1, t1 - t0);
  const selectedRef = useRef<HTMLLIElement | null>(null);
  const listRef = useRef<HTMLUListElement | null>(null);
  const virtual = items.length >= VIRTUAL_FROM_ROWS;
  const [first, last] = useVisibleRows(listRef, items.length, virtual);
  useEffect(() => {
    if (!virtual) {
      selectedRef.current?.scrollIntoView?.({ block: "nearest" });
      return;
    }
    // A selected row outside the rendered window is brought into view by scrolling to its slot.
    const index = items.findIndex((i) => i.type === "span" && i.span.span_id === selectedId);
    const scroller = scrollParent(listRef.current);
    if (index < 0 || !scroller || !listRef.current) return;
    const rowTop =
      listRef.current.getBoundingClientRect().top -
      scroller.getBoundingClientRect().top +
      scroller.scrollTop +
      (index + 1) * ROW_PX;
    if (rowTop < scroller.scrollTop || rowTop + ROW_PX > scroller.scrollTop + scroller.clientHeight)
      scroller.scrollTop = rowTop - scroller.clientHeight / 2;
    // items is deliberately left out: only a new selection scrolls.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId, virtual]);
  const spanRows = items.filter((i) => i.type === "span").map((i) => (i as { span: Span }).span.span_id);
  const toggle = (id: string, open?: boolean) => {
    const next = new Set(collapsed);
    const isOpen = !next.has(id);
    if (open === undefined ? isOpen : !open) next.add(id);
    else next.delete(id);
    setCollapsed(next);
  };
  const onKey = (e: React.KeyboardEvent) => {
    const keys = arrowCollapse
      ? ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]
      : ["ArrowUp", "ArrowDown"];
    if (!keys.includes(e.key) || !spanRows.length) return;
    e.preventDefault();
    e.stopPropagation();
    const i = selectedId ? spanRows.indexOf(selectedId) : -1;
    if (e.key === "ArrowDown") onSelect(spanRows[Math.min(spanRows.length - 1, i + 1)]);
    else if (e.key === "ArrowUp") onSelect(spanRows[Math.max(0, i - 1)]);
    else if (selectedId) toggle(selectedId, e.key === "ArrowRight");
  };
  return (
    <ul
      ref={listRef}
      className={`tree ${virtual ? "tree-virtual" : ""}`}
      role="tree"
      aria-label={label}
      aria-rowcount={virtual ? items.length : undefined}
      tabIndex={0}
      onKeyDown={onKey}
    >
      <li className="tree-row tree-scale" role="none" aria-hidden>
        <span />
        <span className="scale">
          <span>{formatDurationMicros(t0 - tree.startUs)}</span>
          <span>{formatDurationMicros(t0 - tree.startUs + total / 2)}</span>
          <span>{formatDurationMicros(t0 - tree.startUs + total)}</span>
        </span>
      </li>
      {virtual && first > 0 ? <li role="none" aria-hidden style={{ height: first * ROW_PX }} /> : null}
      {items.slice(first, last).map((item) => {
        if (item.type === "extra") {
          return (
            <li key={`x-${item.key}`} role="none" style={{ paddingLeft: item.depth * 14 + 20 }}>
              {renderExtra?.(item.payload)}
            </li>
          );
        }
        const s = item.span;
        const id = s.span_id;
        const dur = spanDurationMicros(s);
        const start = isoToMicros(s.start_time);
        const left = Number.isFinite(start) ? ((start - t0) / total) * 100 : 0;
        const width = Number.isFinite(dur) ? (dur / total) * 100 : 0;
        const tokens = isLlm(s) ? tokenCounts(s) : undefined;
        const failed = tree.failed.has(id);
        const onPath = tree.failedPath.has(id);
        const selected = id === selectedId;
        const cls = [
          "tree-row",
          selected && "selected",
          onPath && "failpath",
          failed && "failed",
          search?.matches.has(id) && "match",
          highlight?.has(id) && "critical",
        ]
          .filter(Boolean)
          .join(" ");
        return (
          <li
            key={id}
            ref={selected ? selectedRef : undefined}
            role="treeitem"
            aria-selected={selected}
            aria-expanded={item.hasChildren ? !collapsed.has(id) : undefined}
            aria-label={`${displayName(s)}${failed ? " (failed)" : ""}`}
            data-span-id={id}
            className={cls}
            onClick={() => onSelect(id)}
          >
            <div className="tree-label" style={{ paddingLeft: item.depth * 14 }}>
              {item.hasChildren ? (
                <button
                  type="button"
                  className="tree-toggle"
                  aria-label={collapsed.has(id) ? `Expand ${s.name}` : `Collapse ${s.name}`}
                  tabIndex={-1}
                  onClick={(e) => {
                    e.stopPropagation();
                    toggle(id);
                  }}
                >
                  {collapsed.has(id) ? "▸" : "▾"}
                </button>
              ) : (
                <span className="tree-spacer" />
              )}
              <span className="tree-icon" aria-hidden title={ICON_LABEL[spanIcon(s)]}>
                {ICON_GLYPH[spanIcon(s)]}
              </span>
              <span className="tree-name" title={s.name}>
                {displayName(s)}
              </span>
              {isLlm(s) && llmTag(s) ? (
                <span className="tag tag-llm tree-tag" title={llmTag(s)}>
                  {llmTag(s)}
                </span>
              ) : null}
              {failed ? (
                <span className="badge badge-error" title="This span failed">
                  failed
                </span>
              ) : onPath ? (
                <span className="badge" title="A descendant failed">
                  ✕ below
                </span>
              ) : null}
              {isCancelled(s) ? (
                <span
                  className="badge"
                  title={String(s.attributes_json["junjo.cancelled_reason"] ?? "Cancelled")}
                >
                  cancelled
                </span>
              ) : null}
              <span className="tree-meta">
                {tokens?.total !== undefined ? `${tokens.total} tok · ` : ""}
                {tokens?.cost !== undefined ? `${formatCost(tokens.cost)} · ` : ""}
                {formatDurationMicros(dur)}
              </span>
            </div>
            <div className="bar-track" aria-hidden>
              <div
                className={`bar ${failed ? "failed" : isLlm(s) ? "llm" : ""}`}
                style={{
                  left: `${Math.max(0, Math.min(100, left))}%`,
                  width: `${Math.max(0.3, Math.min(100 - left, width))}%`,
                }}
              />
              {(s.events_json ?? []).map((e, i) => {
                const at = ((nanosToMicros(e.timeUnixNano) - t0) / total) * 100;
                return Number.isFinite(at) ? (
                  <span
                    key={i}
                    className={`tick ${e.name === "exception" || e.name === "junjo.hook_error" ? "tick-error" : ""}`}
                    style={{ left: `${Math.max(0, Math.min(100, at))}%` }}
                    title={e.name}
                  />
                ) : null;
              })}
            </div>
          </li>
        );
      })}
      {virtual && last < items.length ? (
        <li role="none" aria-hidden style={{ height: (items.length - last) * ROW_PX }} />
      ) : null}
    </ul>
  );
}

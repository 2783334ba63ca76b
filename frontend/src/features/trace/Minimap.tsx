/**
 * The whole trace in one strip (a canvas: one thin bar per span, failed ones red, the critical path
 * accented) with a draggable window: dragging selects the time range the waterfall zooms into.
 */
import { useEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from "react";
import type { Span } from "../../api/types";
import { formatDurationMicros, isoToMicros } from "../../lib/time";

const HEIGHT = 44;

export function Minimap({
  spans,
  startUs,
  endUs,
  window: win,
  onWindow,
  failed,
  highlight,
}: {
  spans: Span[];
  startUs: number;
  endUs: number;
  window: [number, number] | null;
  onWindow: (w: [number, number] | null) => void;
  failed: Set<string>;
  highlight?: Set<string>;
}) {
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const total = Math.max(1, endUs - startUs);
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext?.("2d");
    if (!c || !ctx) return;
    const width = c.clientWidth || 600;
    c.width = width;
    c.height = HEIGHT;
    ctx.clearRect(0, 0, width, HEIGHT);
    const style = getComputedStyle(c);
    const colour = (v: string, fallback: string) => style.getPropertyValue(v).trim() || fallback;
    const rows = Math.max(1, Math.min(HEIGHT, spans.length));
    spans.forEach((s, i) => {
      const a = isoToMicros(s.start_time);
      const b = isoToMicros(s.end_time);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return;
      const x = ((a - startUs) / total) * width;
      const w = Math.max(1, ((b - a) / total) * width);
      const y = Math.floor((i / spans.length) * rows) * (HEIGHT / rows);
      ctx.fillStyle = failed.has(s.span_id)
        ? colour("--error", "#c62828")
        : highlight?.has(s.span_id)
          ? colour("--accent", "#e58a00")
          : colour("--bar", "#7c93c7");
      ctx.fillRect(x, y, w, Math.max(1, HEIGHT / rows - 0.5));
    });
  }, [spans, startUs, total, failed, highlight]);

  const toUs = (e: ReactPointerEvent<HTMLDivElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (e.clientX - r.left) / Math.max(1, r.width)));
    return startUs + f * total;
  };
  const shown = drag ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)] : win;
  return (
    <div className="minimap-wrap">
      <div
        className="minimap"
        role="slider"
        aria-label="Trace overview: drag to zoom into a time window"
        aria-valuemin={0}
        aria-valuemax={Math.round(total)}
        aria-valuenow={win ? Math.round(win[0] - startUs) : 0}
        aria-valuetext={
          win
            ? `${formatDurationMicros(win[0] - startUs)} to ${formatDurationMicros(win[1] - startUs)}`
            : "whole trace"
        }
        tabIndex={0}
        onKeyDown={(e) => {
          if (e.key === "Escape" || e.key === "0") onWindow(null);
        }}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture?.(e.pointerId);
          const t = toUs(e);
          setDrag({ from: t, to: t });
        }}
        onPointerMove={(e) => drag && setDrag({ ...drag, to: toUs(e) })}
        onPointerUp={() => {
          if (drag) {
            const a = Math.min(drag.from, drag.to);
            const b = Math.max(drag.from, drag.to);
            onWindow(b - a > total / 1000 ? [a, b] : null);
          }
          setDrag(null);
        }}
      >
        <canvas ref={canvas} height={HEIGHT} aria-hidden />
        {shown ? (
          <div
            className="minimap-window"
            style={{
              left: `${((shown[0] - startUs) / total) * 100}%`,
              width: `${((shown[1] - shown[0]) / total) * 100}%`,
            }}
          />
        ) : null}
      </div>
      {win ? (
        <button type="button" className="btn btn-xs" onClick={() => onWindow(null)}>
          Reset zoom ({formatDurationMicros(win[1] - win[0])} shown)
        </button>
      ) : (
        <span className="muted small">Drag across the overview to zoom</span>
      )}
    </div>
  );
}

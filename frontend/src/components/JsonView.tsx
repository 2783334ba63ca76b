/**
 * Collapsible JSON tree with a copy button; deep levels start collapsed, long strings are clipped,
 * and highlighted paths (JSON pointers) are marked and opened to.
 */
import { useState } from "react";
import { LONG_TEXT_CHARS, neutralizeBidi } from "../lib/text";
import { TextDialog } from "./LongText";
import { CopyButton } from "./ui";

const LONG = 160;

function Scalar({ value, name }: { value: unknown; name?: string }) {
  const [open, setOpen] = useState(false);
  if (value === null) return <span className="j-null">null</span>;
  if (typeof value === "string") {
    if (value.length > LONG && !open)
      return (
        <button
          type="button"
          className="j-str j-clip"
          onClick={() => setOpen(true)}
          title="Show the whole string"
        >
          "{neutralizeBidi(value.slice(0, LONG))}…" <span className="muted">(+{value.length - LONG})</span>
        </button>
      );
    if (value.length > LONG_TEXT_CHARS)
      return (
        <>
          <span className="j-str">"{neutralizeBidi(value.slice(0, LONG))}…"</span>
          <TextDialog title={name ?? "string"} text={value} onClose={() => setOpen(false)} />
        </>
      );
    return <span className="j-str">"{neutralizeBidi(value)}"</span>;
  }
  if (typeof value === "number") return <span className="j-num">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="j-bool">{String(value)}</span>;
  return <span>{String(value)}</span>;
}

interface NodeProps {
  name?: string;
  value: unknown;
  depth: number;
  collapseAt: number;
  path: string;
  highlight?: Set<string>;
}

const escapeToken = (k: string) => k.replace(/~/g, "~0").replace(/\//g, "~1");

/** True when `path` or something below it is highlighted (so changed leaves are opened to). */
function touches(highlight: Set<string> | undefined, path: string): boolean {
  if (!highlight) return false;
  for (const h of highlight) if (h === path || h.startsWith(`${path}/`)) return true;
  return false;
}

function Node({ name, value, depth, collapseAt, path, highlight }: NodeProps) {
  const isObj = value !== null && typeof value === "object";
  const [open, setOpen] = useState(
    depth < collapseAt || (depth > 0 && touches(highlight, path)) || (depth === 0 && !!highlight),
  );
  const key = name !== undefined ? <span className="j-key">{neutralizeBidi(name)}: </span> : null;
  const changed = highlight?.has(path || "/") ? " j-changed" : "";
  if (!isObj) {
    return (
      <div className={`j-row${changed}`}>
        {key}
        <Scalar value={value} name={name} />
      </div>
    );
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as object);
  const [o, c] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return (
    <div className={`j-row${changed}`}>
      <button
        type="button"
        className="j-toggle"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        aria-label={`${open ? "Collapse" : "Expand"} ${name ?? "root"}`}
      >
        {open ? "▾" : "▸"}
      </button>
      {key}
      <span className="j-brace">{o}</span>
      {!open ? (
        <>
          <span className="muted">
            {" "}
            {entries.length} {Array.isArray(value) ? "items" : "keys"}{" "}
          </span>
          <span className="j-brace">{c}</span>
        </>
      ) : (
        <>
          <div className="j-children">
            {entries.map(([k, v]) => (
              <Node
                key={k}
                name={k}
                value={v}
                depth={depth + 1}
                collapseAt={collapseAt}
                path={`${path}/${escapeToken(k)}`}
                highlight={highlight}
              />
            ))}
          </div>
          <span className="j-brace">{c}</span>
        </>
      )}
    </div>
  );
}

/** `highlight`: JSON pointers to mark (e.g. what a state transition changed); their parents open. */
export function JsonView({
  value,
  collapseAt = 3,
  label,
  highlight,
}: {
  value: unknown;
  collapseAt?: number;
  label?: string;
  highlight?: Set<string>;
}) {
  const text = value === undefined ? "undefined" : JSON.stringify(value, null, 2);
  return (
    <div className="json-view" aria-label={label}>
      <div className="json-tools">
        <CopyButton value={text} label={label ? `Copy ${label} JSON` : "Copy JSON"} />
      </div>
      {value === undefined ? (
        <span className="muted">No value</span>
      ) : (
        <Node value={value} depth={0} collapseAt={collapseAt} path="" highlight={highlight} />
      )}
    </div>
  );
}

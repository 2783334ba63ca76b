/**
 * Small shared UI pieces: copy button, loading/empty/error states, tabs, page header. Tabs are plain
 * focusable buttons (no arrow-key roving) because ←/→ step through state in the workflow debugger.
 */
import { useEffect, useRef, useState, type ReactNode } from "react";

export function CopyButton({
  value,
  label = "Copy",
  className,
}: {
  value: string;
  label?: string;
  className?: string;
}) {
  const [state, setState] = useState<"idle" | "ok" | "err">("idle");
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState("ok");
    } catch {
      setState("err");
    }
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setState("idle"), 1200);
  };
  return (
    <button
      type="button"
      className={`btn btn-ghost btn-xs copy ${state} ${className ?? ""}`}
      onClick={copy}
      aria-label={label}
      title={label}
    >
      {state === "ok" ? "Copied" : state === "err" ? "Copy failed" : "Copy"}
    </button>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="muted loading" role="status" aria-live="polite">
      {label}
    </div>
  );
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div className="alert alert-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {msg}
    </div>
  );
}

/** A list's warning that its newest `rows` may be missing: ingestion (the hot tier) did not answer. */
export function DegradedNotice({ degraded, rows }: { degraded: string | null | undefined; rows: string }) {
  return degraded ? (
    <div className="alert alert-warn" role="status">
      The newest {rows} may be missing: ingestion is not reachable ({degraded}).
    </div>
  ) : null;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export interface TabDef {
  id: string;
  label: ReactNode;
}

export function Tabs({
  tabs,
  active,
  onChange,
  label,
}: {
  tabs: TabDef[];
  active: string;
  onChange: (id: string) => void;
  label: string;
}) {
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          aria-selected={active === t.id}
          className={`tab ${active === t.id ? "active" : ""}`}
          onClick={() => onChange(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** Sets the browser tab title for the current page. */
export function useDocumentTitle(title: string | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · Junjo AI Studio` : "Junjo AI Studio";
  }, [title]);
}

export function PageHeader({
  title,
  crumbs,
  actions,
  sub,
}: {
  title: ReactNode;
  crumbs?: ReactNode;
  actions?: ReactNode;
  sub?: ReactNode;
}) {
  useDocumentTitle(typeof title === "string" ? title : undefined);
  return (
    <header className="page-header">
      <div>
        {crumbs ? (
          <nav className="crumbs" aria-label="Breadcrumb">
            {crumbs}
          </nav>
        ) : null}
        <h1>{title}</h1>
        {sub ? <div className="muted small">{sub}</div> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function IdText({ id, short = false }: { id: string; short?: boolean }) {
  return (
    <span className="id-text">
      <code title={id}>{short && id.length > 12 ? `…${id.slice(-6)}` : id}</code>
      <CopyButton value={id} label={`Copy ${id}`} />
    </span>
  );
}

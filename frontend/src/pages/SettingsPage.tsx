/** Settings: system operations (flush the ingestion WAL to Parquet now), developer access tokens. */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { system } from "../api/endpoints";
import { ErrorBox, PageHeader } from "../components/ui";
import { TokensPanel } from "../features/evaluations/TokensPanel";

export default function SettingsPage() {
  const [last, setLast] = useState<Date | null>(null);
  const flush = useMutation({ mutationFn: system.flushWal, onSuccess: () => setLast(new Date()) });
  return (
    <div className="page">
      <PageHeader title="Settings" />
      <section className="card" aria-labelledby="ops-title">
        <h2 id="ops-title">System operations</h2>
        <h3>Flush WAL to Parquet</h3>
        <p className="muted">
          Ingestion keeps recent spans in a write-ahead log and moves them to Parquet files by size and age.
          Flushing now writes every pending span to Parquet and indexes the new files. Spans are queryable
          either way.
        </p>
        <button
          type="button"
          className="btn btn-primary"
          disabled={flush.isPending}
          onClick={() => window.confirm("Flush the WAL to Parquet now?") && flush.mutate()}
        >
          {flush.isPending ? "Flushing…" : "Flush WAL"}
        </button>
        {flush.isSuccess ? (
          <div className="alert alert-success" role="status">
            {flush.data?.message || "WAL flushed successfully"}
          </div>
        ) : null}
        <ErrorBox error={flush.error} title="Error" />
        <p className="muted small">Last flush: {last ? last.toLocaleString() : "Never"}</p>
      </section>
      <TokensPanel />
    </div>
  );
}

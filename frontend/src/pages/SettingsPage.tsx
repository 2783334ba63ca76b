/** Settings: your password (everyone); for admins, system operations (flush the ingestion WAL) and
 * developer access tokens (both refused to viewers by the API). */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { auth, system } from "../api/endpoints";
import { useAuth } from "../auth/AuthProvider";
import { ErrorBox, PageHeader } from "../components/ui";
import { TokensPanel } from "../features/evaluations/TokensPanel";

function ChangePassword() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation({
    mutationFn: () => auth.changePassword(current, next),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <p className="muted">Changing your password signs you out everywhere else.</p>
      <form className="row gap wrap" onSubmit={submit} aria-label="Change password">
        <label className="grow">
          Current password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
        <label className="grow">
          New password
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={next}
            onChange={(e) => setNext(e.target.value)}
          />
        </label>
        <button className="btn btn-primary" type="submit" disabled={change.isPending}>
          Change Password
        </button>
      </form>
      {change.isSuccess ? (
        <div className="alert alert-success" role="status">
          Password changed
        </div>
      ) : null}
      <ErrorBox error={change.error} />
    </section>
  );
}

function SystemOperations() {
  const [last, setLast] = useState<Date | null>(null);
  const flush = useMutation({ mutationFn: system.flushWal, onSuccess: () => setLast(new Date()) });
  return (
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
  );
}

export default function SettingsPage() {
  const { isAdmin } = useAuth();
  return (
    <div className="page">
      <PageHeader title="Settings" />
      <ChangePassword />
      {isAdmin ? (
        <>
          <SystemOperations />
          <TokensPanel />
        </>
      ) : null}
    </div>
  );
}

/** Developer access tokens for `junjo eval` and the Studio client: create (shown once), list, revoke. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { evaluationTokens } from "../../api/endpoints";
import type { CreatedEvaluationToken, EvaluationScope } from "../../api/types";
import { SecretReveal } from "../../components/SecretReveal";
import { Empty, ErrorBox, Loading } from "../../components/ui";
import { Timestamp } from "../../components/Timestamp";

const SCOPES: { scope: EvaluationScope; label: string }[] = [
  { scope: "evaluation:read", label: "Read datasets and runs" },
  { scope: "evaluation:write", label: "Create datasets, cases, runs and results" },
  { scope: "evidence:read", label: "Read trace evidence" },
];

function CreateTokenForm({ onCreated }: { onCreated: (t: CreatedEvaluationToken) => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<EvaluationScope[]>(SCOPES.map((s) => s.scope));
  const [expires, setExpires] = useState("");
  const create = useMutation({
    mutationFn: () =>
      evaluationTokens.create(name, scopes, expires ? new Date(`${expires}T23:59:59`).toISOString() : null),
    onSuccess: (token) => {
      setName("");
      onCreated(token);
      void qc.invalidateQueries({ queryKey: ["evaluation-tokens"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const toggle = (scope: EvaluationScope) =>
    setScopes((now) => (now.includes(scope) ? now.filter((s) => s !== scope) : [...now, scope]));
  return (
    <form className="stack gap" onSubmit={submit} aria-label="Create developer access token">
      <div className="row gap wrap">
        <label className="grow">
          Token name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            placeholder="e.g. my laptop"
          />
        </label>
        <label>
          Expires (optional)
          <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
      </div>
      <fieldset className="row gap wrap">
        <legend>Scopes</legend>
        {SCOPES.map(({ scope, label }) => (
          <label key={scope} className="row gap">
            <input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} />
            <code>{scope}</code> <span className="muted small">{label}</span>
          </label>
        ))}
      </fieldset>
      <div>
        <button className="btn btn-primary" type="submit" disabled={create.isPending || !scopes.length}>
          {create.isPending ? "Creating…" : "Create token"}
        </button>
      </div>
      <ErrorBox error={create.error} />
    </form>
  );
}

export function TokensPanel() {
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: ["evaluation-tokens"], queryFn: evaluationTokens.list });
  const [created, setCreated] = useState<CreatedEvaluationToken | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => evaluationTokens.revoke(id),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["evaluation-tokens"] }),
  });
  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Developer access tokens</h2>
      <p className="muted">
        For <code>junjo eval</code> and the Studio client: set <code>JUNJO_AI_STUDIO_CLI_TOKEN</code>. A token
        acts as you. It is not an API key: applications send telemetry with API keys only.
      </p>
      <CreateTokenForm onCreated={setCreated} />
      {created ? (
        <SecretReveal
          what="developer access token"
          name={created.name}
          secret={created.token}
          testId="new-evaluation-token"
          onDone={() => setCreated(null)}
        />
      ) : null}
      <ErrorBox error={revoke.error} />
      {tokens.isLoading ? (
        <Loading />
      ) : tokens.error ? (
        <ErrorBox error={tokens.error} />
      ) : !tokens.data?.items.length ? (
        <Empty>No developer access tokens.</Empty>
      ) : (
        <table className="table" aria-label="Developer access tokens">
          <thead>
            <tr>
              <th>Name</th>
              <th>Token</th>
              <th>Scopes</th>
              <th>Expires</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {tokens.data.items.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td>{t.scopes.join(", ")}</td>
                <td>{t.expires_at ? <Timestamp iso={t.expires_at} /> : "never"}</td>
                <td>
                  <Timestamp iso={t.created_at} />
                </td>
                <td className="right">
                  <button
                    type="button"
                    className="btn btn-danger btn-xs"
                    aria-label={`Revoke token ${t.name}`}
                    disabled={revoke.isPending}
                    onClick={() => window.confirm(`Revoke token "${t.name}"?`) && revoke.mutate(t.id)}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

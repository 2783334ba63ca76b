/**
 * The span search bar of the list pages: the query lives in the URL (`?search=`), so reload, Back
 * and shared links keep it; Enter applies it (a half-typed query is not sent). The API's syntax
 * errors are shown under the box. Saved searches belong to the signed-in user: pick one to run it,
 * save the current query under a name, or delete the picked one.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { savedSearches, type SavedSearch } from "../../api/endpoints";
import "./search.css";

/** What a search picks on each list (docs/SEARCH.md). */
const SCOPES = {
  spans: "Lists the spans that match.",
  traces: "Lists the traces holding at least one matching span (any span of the trace, not only the root).",
  workflows: "Lists the workflow runs whose trace holds at least one matching span.",
  agents: "Lists the runs whose agent span or a span under it matches.",
} as const;

const EXAMPLES = ["user.id = 42", "gen_ai.request.model = gpt-4o duration > 5s", '"refund" status = error'];

export function QueryBar({
  value,
  onChange,
  error,
  partial,
  scope,
}: {
  value: string;
  onChange: (query: string) => void;
  /** The API's message when it refused the query (422). */
  error?: string | null;
  /** The last page stopped at the search time budget. */
  partial?: boolean;
  /** The list the bar searches: it says which of its rows a search picks. */
  scope: keyof typeof SCOPES;
}) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onChange(text.trim());
  };
  return (
    <div className="query-bar">
      <form className="query-row" onSubmit={submit} role="search">
        <label className="grow">
          Search spans
          <input
            type="search"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={`${EXAMPLES[0]}   (Enter to search, / to focus)`}
            aria-invalid={error ? true : undefined}
            aria-describedby="query-hint"
            maxLength={1000}
            spellCheck={false}
            autoComplete="off"
          />
        </label>
        <button type="submit" className="btn btn-primary">
          Search
        </button>
        {value ? (
          <button type="button" className="btn" onClick={() => onChange("")}>
            Clear
          </button>
        ) : null}
        <SavedSearches current={value} onPick={onChange} />
      </form>
      {error ? (
        <div className="alert alert-error query-error" role="alert">
          {error}
        </div>
      ) : null}
      {partial ? (
        <div className="alert alert-warn" role="status">
          The search stopped at its time budget: these are the matches found so far. “Older →” searches
          further back.
        </div>
      ) : null}
      <p id="query-hint" className="muted small query-hint">
        {SCOPES[scope]} <code>key = value</code> (<code>!=</code>, <code>&gt;</code>, <code>&lt;</code>,{" "}
        <code>&gt;=</code>, <code>&lt;=</code>), <code>key exists</code>, <code>"free text"</code>, fields{" "}
        <code>name</code> <code>status</code> <code>duration</code> <code>service</code> <code>kind</code>{" "}
        <code>start</code>; combine with <code>AND</code> (or a space), <code>OR</code>, <code>NOT</code>,{" "}
        <code>( )</code>. Examples:{" "}
        {EXAMPLES.map((example, i) => (
          <span key={example}>
            {i ? " · " : ""}
            <button type="button" className="link-button" onClick={() => onChange(example)}>
              {example}
            </button>
          </span>
        ))}
      </p>
    </div>
  );
}

function SavedSearches({ current, onPick }: { current: string; onPick: (query: string) => void }) {
  const client = useQueryClient();
  const saved = useQuery({ queryKey: ["saved-searches"], queryFn: savedSearches.list });
  const [naming, setNaming] = useState(false);
  const [name, setName] = useState("");
  const refresh = () => client.invalidateQueries({ queryKey: ["saved-searches"] });
  const create = useMutation({
    mutationFn: () => savedSearches.create(name.trim(), current),
    onSuccess: () => {
      setNaming(false);
      setName("");
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (s: SavedSearch) => savedSearches.remove(s.id),
    onSuccess: refresh,
  });
  const items = saved.data ?? [];
  const picked = items.find((s) => s.query === current);
  return (
    <div className="saved-searches row gap">
      <label>
        Saved searches
        <select
          value={picked?.id ?? ""}
          onChange={(e) => {
            const chosen = items.find((s) => s.id === e.target.value);
            if (chosen) onPick(chosen.query);
          }}
        >
          <option value="">{items.length ? "Choose…" : "None yet"}</option>
          {items.map((s) => (
            <option key={s.id} value={s.id} title={s.query}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      {picked ? (
        <button
          type="button"
          className="btn btn-ghost"
          onClick={() => remove.mutate(picked)}
          aria-label={`Delete saved search ${picked.name}`}
        >
          Delete
        </button>
      ) : null}
      {current && !picked ? (
        naming ? (
          <span className="row gap">
            <input
              aria-label="Name of the saved search"
              value={name}
              maxLength={200}
              autoFocus
              onChange={(e) => setName(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  if (name.trim()) create.mutate();
                } else if (e.key === "Escape") setNaming(false);
              }}
            />
            <button
              type="button"
              className="btn"
              disabled={!name.trim() || create.isPending}
              onClick={() => create.mutate()}
            >
              Save
            </button>
          </span>
        ) : (
          <button type="button" className="btn" onClick={() => setNaming(true)}>
            Save search…
          </button>
        )
      ) : null}
      {create.error ? (
        <span className="error-text small" role="alert">
          {(create.error as Error).message}
        </span>
      ) : null}
    </div>
  );
}

/**
 * "Trace truncated, N more spans": the backend answers a trace in bounded pages (a span cap and a
 * byte cap); this says what was left out and links to the next page (`?after=<cursor>`), or back
 * to the first one when the page shown is a later one.
 */
import { Link, useLocation, useSearchParams } from "react-router";
import type { TraceTruncation } from "../api/types";

function withAfter(search: URLSearchParams, after: string | null): string {
  const next = new URLSearchParams(search);
  if (after) next.set("after", after);
  else next.delete("after");
  next.delete("t"); // a store transition selected on another page may not exist on this one
  const text = next.toString();
  return text ? `?${text}` : "";
}

export function TruncationNotice({ truncated }: { truncated: TraceTruncation | null | undefined }) {
  const { pathname } = useLocation();
  const [params] = useSearchParams();
  const later = params.has("after");
  if (!truncated && !later) return null;
  return (
    <div className="alert alert-warn" role="status" aria-label="Trace truncated">
      {truncated ? (
        <>
          <strong>Trace truncated, {truncated.more_spans.toLocaleString()} more spans.</strong> This page
          shows {truncated.returned_spans.toLocaleString()} spans (at most{" "}
          {truncated.span_limit.toLocaleString()} spans or {Math.round(truncated.byte_limit / (1024 * 1024))}{" "}
          MiB of attributes per page).{" "}
          {truncated.next_cursor ? (
            <Link to={`${pathname}${withAfter(params, truncated.next_cursor)}`}>Next spans →</Link>
          ) : null}
        </>
      ) : (
        <>This page shows the last spans of a truncated trace. </>
      )}
      {later ? (
        <>
          {" "}
          <Link to={`${pathname}${withAfter(params, null)}`}>← First spans</Link>
        </>
      ) : null}
    </div>
  );
}

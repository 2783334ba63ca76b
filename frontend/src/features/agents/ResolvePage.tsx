/**
 * `/resolve/executable?service_namespace&service_name&executable_type&runtime_id[&destination=trace]`:
 * the stable link an application prints for one execution. It resolves the semantic identity to
 * the owner span and opens its page; while ingestion lags (404) it says so and retries after 1, 2
 * and 4 s, then every 5 s, with a visible countdown and a "Retry now" button.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Navigate, useSearchParams } from "react-router";
import { ApiError } from "../../api/client";
import { agentsApi } from "../../api/endpoints";
import { ErrorBox, PageHeader, useDocumentTitle } from "../../components/ui";

const TYPES = ["workflow", "subflow", "agent"];
const DELAYS_S = [1, 2, 4];
const STEADY_S = 5;

export default function ResolvePage() {
  useDocumentTitle("Opening execution");
  const [params] = useSearchParams();
  const identity = {
    service_namespace: params.get("service_namespace"),
    service_name: params.get("service_name"),
    executable_type: params.get("executable_type"),
    runtime_id: params.get("runtime_id"),
  };
  const destination = params.get("destination") ?? "detail";
  const valid =
    identity.service_namespace !== null &&
    !!identity.service_name &&
    !!identity.runtime_id &&
    TYPES.includes(identity.executable_type ?? "") &&
    ["detail", "trace", "failure"].includes(destination);
  const [attempt, setAttempt] = useState(0);
  const [wait, setWait] = useState(0);
  const resolution = useQuery({
    queryKey: ["resolve", identity, attempt],
    queryFn: () => agentsApi.resolve(identity as Record<string, string>),
    enabled: valid,
    retry: false,
  });
  const pending = resolution.error instanceof ApiError && resolution.error.status === 404;
  useEffect(() => {
    if (!pending) return;
    const seconds = DELAYS_S[attempt] ?? STEADY_S;
    setWait(seconds);
    const tick = window.setInterval(() => setWait((w) => Math.max(0, w - 1)), 1000);
    const retry = window.setTimeout(() => setAttempt((a) => a + 1), seconds * 1000);
    return () => {
      window.clearInterval(tick);
      window.clearTimeout(retry);
    };
  }, [pending, attempt]);
  if (!valid)
    return (
      <div className="page">
        <PageHeader title="Invalid execution link" />
        <p className="muted">
          An execution link needs <code>service_namespace</code> (may be empty), <code>service_name</code>,{" "}
          <code>executable_type</code> (workflow, subflow or agent) and <code>runtime_id</code>.
        </p>
      </div>
    );
  if (resolution.data) {
    const to =
      destination === "trace"
        ? resolution.data.trace_path
        : destination === "failure"
          ? resolution.data.failure_path
          : resolution.data.detail_path;
    return <Navigate to={to} replace />;
  }
  return (
    <div className="page">
      <PageHeader
        title={`Opening ${identity.executable_type} ${identity.runtime_id}`}
        sub={`${identity.service_namespace ? `${identity.service_namespace}/` : ""}${identity.service_name}`}
      />
      {pending ? (
        <div className="alert alert-warn" role="status" aria-live="polite">
          <strong>Telemetry is still arriving.</strong> This execution has not been ingested yet; retrying{" "}
          {wait > 0 ? `in ${wait} s` : "now"} (attempt {attempt + 1}).{" "}
          <button type="button" className="btn btn-xs" onClick={() => setAttempt((a) => a + 1)}>
            Retry now
          </button>
        </div>
      ) : resolution.error ? (
        <ErrorBox error={resolution.error} title="Cannot open this execution" />
      ) : (
        <p className="muted" role="status">
          Resolving…
        </p>
      )}
    </div>
  );
}

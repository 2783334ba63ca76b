/**
 * Services that sent telemetry, each linking to its workflow executions and traces. Before the first
 * span arrives it is the guided first run, polling so it turns into the list on its own.
 */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { observability } from "../api/endpoints";
import { ErrorBox, Loading, PageHeader } from "../components/ui";
import { FirstRun } from "../features/onboarding/FirstRun";

export default function ServicesPage() {
  const q = useQuery({
    queryKey: ["services"],
    queryFn: observability.services,
    refetchInterval: (query) => (query.state.data?.length ? 10_000 : 2_000),
  });
  return (
    <div className="page">
      <PageHeader title="Services" sub="Every service that has sent spans to this server." />
      {q.isLoading ? (
        <Loading />
      ) : q.error ? (
        <ErrorBox error={q.error} />
      ) : !q.data?.length ? (
        <FirstRun />
      ) : (
        <table className="table" aria-label="Services">
          <thead>
            <tr>
              <th>Service</th>
              <th>Workflow executions</th>
              <th>Traces</th>
            </tr>
          </thead>
          <tbody>
            {q.data.map((s) => (
              <tr key={s}>
                <td>
                  <strong>{s}</strong>
                </td>
                <td>
                  <Link to={`/logs/${encodeURIComponent(s)}`} aria-label={`Workflow executions of ${s}`}>
                    Workflow executions
                  </Link>
                </td>
                <td>
                  <Link to={`/traces/${encodeURIComponent(s)}`} aria-label={`Traces of ${s}`}>
                    Traces
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

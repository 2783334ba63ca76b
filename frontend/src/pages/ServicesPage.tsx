/** Services that sent telemetry, each linking to its workflow executions and traces. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { observability } from "../api/endpoints";
import { Empty, ErrorBox, Loading, PageHeader } from "../components/ui";

export default function ServicesPage() {
  const q = useQuery({ queryKey: ["services"], queryFn: observability.services, refetchInterval: 10_000 });
  return (
    <div className="page">
      <PageHeader title="Services" sub="Every service that has sent spans to this server." />
      {q.isLoading ? (
        <Loading />
      ) : q.error ? (
        <ErrorBox error={q.error} />
      ) : !q.data?.length ? (
        <Empty>
          No data received yet. <Link to="/api-keys">Create an API key and instrument your app</Link> to
          start.
        </Empty>
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

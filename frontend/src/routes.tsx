/** Route table. Every route but sign-in/sign-out is guarded; the guard renders sign-in in place. */
import { lazy, useEffect, type ReactNode } from "react";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { AuthGuard, RequireAdmin } from "./auth/AuthGuard";
import { SetupForm, SignInForm } from "./auth/AuthForms";
import { useAuth } from "./auth/AuthProvider";
import { AppShell } from "./components/AppShell";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Loading } from "./components/ui";
import ApiKeysPage from "./pages/ApiKeysPage";
import SettingsPage from "./pages/SettingsPage";
import UsersPage from "./pages/UsersPage";
import { SpansListPage, TracesListPage, WorkflowsListPage } from "./pages/ListPages";
import { loadTraceDetail, loadWorkflowDebugger } from "./prefetch";
import { loadAgentDetail } from "./features/agents/queries";
import { loadComparePage, loadRunPage } from "./features/evaluations/queries";

const TraceDetailPage = lazy(loadTraceDetail);
const OverviewPage = lazy(() => import("./features/overview/OverviewPage"));
const WorkflowDebuggerPage = lazy(loadWorkflowDebugger);
const PlaygroundPage = lazy(() => import("./features/playground/PlaygroundPage"));
const EvaluationsPage = lazy(() => import("./features/evaluations/EvaluationsPage"));
const DatasetPage = lazy(() => import("./features/evaluations/DatasetPage"));
const RunPage = lazy(loadRunPage);
const ComparePage = lazy(loadComparePage);

const EVALUATION_ROUTES: [string, ReactNode][] = [
  ["/evaluations", <EvaluationsPage />],
  ["/evaluations/datasets/:datasetId", <DatasetPage />],
  ["/evaluations/runs/:runId", <RunPage />],
  ["/evaluations/compare/:baselineId/:candidateId", <ComparePage />],
];
const AgentsListPage = lazy(() => import("./features/agents/AgentsListPage"));
const AgentDetailPage = lazy(loadAgentDetail);
const ResolvePage = lazy(() => import("./features/agents/ResolvePage"));

function Guarded({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  return (
    <AppShell>
      <AuthGuard>
        <ErrorBoundary resetKey={pathname}>{children}</ErrorBoundary>
      </AuthGuard>
    </AppShell>
  );
}

function SignInRoute() {
  const { loading, needsSetup, authenticated } = useAuth();
  if (loading) return <Loading />;
  if (needsSetup) return <SetupForm />;
  if (authenticated) return <Navigate to="/" replace />;
  return <SignInForm redirect />;
}

function SignOutRoute() {
  const { signOut } = useAuth();
  const navigate = useNavigate();
  useEffect(() => {
    void signOut().then(() => navigate("/sign-in", { replace: true }));
  }, [signOut, navigate]);
  return <Loading label="Signing out…" />;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route
        path="/sign-in"
        element={
          <AppShell>
            <SignInRoute />
          </AppShell>
        }
      />
      <Route path="/sign-out" element={<SignOutRoute />} />
      <Route
        path="/"
        element={
          <Guarded>
            <OverviewPage />
          </Guarded>
        }
      />
      <Route path="/logs" element={<Navigate to="/" replace />} />
      <Route
        path="/logs/:service"
        element={
          <Guarded>
            <WorkflowsListPage />
          </Guarded>
        }
      />
      <Route
        path="/traces/:service"
        element={
          <Guarded>
            <TracesListPage />
          </Guarded>
        }
      />
      <Route
        path="/spans/:service"
        element={
          <Guarded>
            <SpansListPage />
          </Guarded>
        }
      />
      <Route
        path="/traces/:service/:traceId/:spanId?"
        element={
          <Guarded>
            <TraceDetailPage />
          </Guarded>
        }
      />
      <Route
        path="/traces/:service/:traceId/:spanId/playground"
        element={
          <Guarded>
            <RequireAdmin>
              <PlaygroundPage />
            </RequireAdmin>
          </Guarded>
        }
      />
      {/* The reference frontend's playground paths, kept as aliases. */}
      <Route
        path="/traces/:service/:traceId/:spanId/prompt-playground"
        element={
          <Guarded>
            <PlaygroundPage />
          </Guarded>
        }
      />
      <Route
        path="/workflows/:service/:traceId/:workflowSpanId/:spanId/prompt-playground"
        element={
          <Guarded>
            <PlaygroundPage />
          </Guarded>
        }
      />
      <Route
        path="/agents"
        element={
          <Guarded>
            <AgentsListPage />
          </Guarded>
        }
      />
      <Route
        path="/agents/:traceId/:agentSpanId"
        element={
          <Guarded>
            <AgentDetailPage />
          </Guarded>
        }
      />
      <Route
        path="/resolve/executable"
        element={
          <Guarded>
            <ResolvePage />
          </Guarded>
        }
      />
      <Route
        path="/workflows/:service/:traceId/:workflowSpanId/:spanId?"
        element={
          <Guarded>
            <WorkflowDebuggerPage />
          </Guarded>
        }
      />
      {EVALUATION_ROUTES.map(([path, page]) => (
        <Route key={path} path={path} element={<Guarded>{page}</Guarded>} />
      ))}
      <Route
        path="/api-keys"
        element={
          <Guarded>
            <RequireAdmin>
              <ApiKeysPage />
            </RequireAdmin>
          </Guarded>
        }
      />
      <Route
        path="/users"
        element={
          <Guarded>
            <RequireAdmin>
              <UsersPage />
            </RequireAdmin>
          </Guarded>
        }
      />
      <Route
        path="/settings"
        element={
          <Guarded>
            <SettingsPage />
          </Guarded>
        }
      />
      <Route
        path="*"
        element={
          <Guarded>
            <div className="page">
              <h1>Not found</h1>
              <p className="muted">There is no page at this address.</p>
            </div>
          </Guarded>
        }
      />
    </Routes>
  );
}

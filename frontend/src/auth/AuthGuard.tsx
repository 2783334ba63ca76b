/** Renders setup, sign-in (in place, so deep links survive) or the page, depending on session state. */
import type { ReactNode } from "react";
import { Loading } from "../components/ui";
import { useAuth } from "./AuthProvider";
import { SetupForm, SignInForm } from "./AuthForms";

export function AuthGuard({ children }: { children: ReactNode }) {
  const { loading, needsSetup, authenticated } = useAuth();
  if (loading) return <Loading />;
  if (needsSetup) return <SetupForm />;
  if (!authenticated) return <SignInForm redirect={false} />;
  return <>{children}</>;
}

/** Pages that change the instance or cost money (users, API keys, the LLM playground): admins only.
 * The API refuses them to viewers anyway; this says so instead of showing a page of errors. */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const { isAdmin } = useAuth();
  if (!isAdmin)
    return (
      <div className="page">
        <h1>Admins only</h1>
        <p className="muted">Your account is a viewer: it can read services, traces and workflows.</p>
      </div>
    );
  return <>{children}</>;
}

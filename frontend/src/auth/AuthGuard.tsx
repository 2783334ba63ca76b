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

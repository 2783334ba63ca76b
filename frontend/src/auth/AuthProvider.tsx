/**
 * Session state for the whole app: is setup needed (no users yet) and is this browser signed in.
 * Both checks run in parallel at load and are re-run after setup, sign-in and sign-out.
 */
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api/client";
import { apiKeys, auth } from "../api/endpoints";

export interface AuthState {
  loading: boolean;
  needsSetup: boolean;
  authenticated: boolean;
  email: string | null;
  refresh: () => Promise<{ needsSetup: boolean; authenticated: boolean }>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

async function check(): Promise<{ needsSetup: boolean; authenticated: boolean; email: string | null }> {
  const [users, me] = await Promise.allSettled([auth.dbHasUsers(), auth.authTest()]);
  const needsSetup = users.status === "fulfilled" ? !users.value.users_exist : false;
  const authenticated = me.status === "fulfilled";
  return { needsSetup, authenticated, email: me.status === "fulfilled" ? me.value.user_email : null };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState({
    loading: true,
    needsSetup: false,
    authenticated: false,
    email: null as string | null,
  });
  const refresh = useCallback(async () => {
    const next = await check();
    setState({ loading: false, ...next });
    return next;
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  // A session that ends while the app is open (expiry, sign-out elsewhere) surfaces as a 401 on
  // some data request: re-check, so the guard shows sign-in in place instead of an error page.
  const queryClient = useQueryClient();
  const authenticatedRef = useRef(false);
  authenticatedRef.current = state.authenticated;
  useEffect(
    () =>
      queryClient.getQueryCache().subscribe((event) => {
        if (event.type !== "updated" || event.action.type !== "error") return;
        const err = event.action.error;
        if (err instanceof ApiError && err.status === 401 && authenticatedRef.current) void refresh();
      }),
    [queryClient, refresh],
  );
  const signOut = useCallback(async () => {
    try {
      await auth.signOut();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
    setState((s) => ({ ...s, authenticated: false, email: null }));
  }, []);
  return <AuthContext.Provider value={{ ...state, refresh, signOut }}>{children}</AuthContext.Provider>;
}

/** Where to go after setup/sign-in: API keys when none exist yet (the first thing a user needs). */
export async function postSignInDestination(): Promise<string> {
  try {
    const keys = await apiKeys.list();
    return keys.length === 0 ? "/api-keys" : "/";
  } catch {
    return "/";
  }
}

/**
 * Session state for the whole app: is setup needed (no users yet), is this browser signed in, and
 * as whom (email, id, role: admins see everything, viewers only what reads telemetry).
 * Both checks run in parallel at load and are re-run after setup, sign-in and sign-out.
 */
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api/client";
import { apiKeys, auth } from "../api/endpoints";
import type { Role } from "../api/types";

export interface AuthState {
  loading: boolean;
  needsSetup: boolean;
  authenticated: boolean;
  email: string | null;
  userId: string | null;
  role: Role | null;
  isAdmin: boolean;
  refresh: () => Promise<{ needsSetup: boolean; authenticated: boolean }>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

interface Session {
  needsSetup: boolean;
  authenticated: boolean;
  email: string | null;
  userId: string | null;
  role: Role | null;
}

const SIGNED_OUT = { authenticated: false, email: null, userId: null, role: null } as const;

/** True when a signed-in admin is known; false for viewers and outside the provider (so components
 * shared with previews and tests render without admin controls rather than failing). */
export function useIsAdmin(): boolean {
  return useContext(AuthContext)?.isAdmin ?? false;
}

async function check(): Promise<Session> {
  const [users, me] = await Promise.allSettled([auth.dbHasUsers(), auth.authTest()]);
  const needsSetup = users.status === "fulfilled" ? !users.value.users_exist : false;
  if (me.status !== "fulfilled") return { needsSetup, ...SIGNED_OUT };
  const { user_email, user_id, role } = me.value;
  return { needsSetup, authenticated: true, email: user_email, userId: user_id, role };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<Session & { loading: boolean }>({
    loading: true,
    needsSetup: false,
    ...SIGNED_OUT,
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
    setState((s) => ({ ...s, ...SIGNED_OUT }));
  }, []);
  const isAdmin = state.role === "admin";
  return (
    <AuthContext.Provider value={{ ...state, isAdmin, refresh, signOut }}>{children}</AuthContext.Provider>
  );
}

/** Where to go after setup/sign-in: API keys when none exist yet (the first thing an admin needs);
 * a viewer, who may not list keys, goes to the services. */
export async function postSignInDestination(): Promise<string> {
  try {
    const keys = await apiKeys.list();
    return keys.length === 0 ? "/api-keys" : "/";
  } catch {
    return "/";
  }
}

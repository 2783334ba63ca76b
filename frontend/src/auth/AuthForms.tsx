/** First-user setup wizard and the sign-in form (rendered in place at deep links). */
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { auth } from "../api/endpoints";
import { postSignInDestination, useAuth } from "./AuthProvider";
import { Logo } from "../components/Logo";

function useSubmit(action: () => Promise<void>) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, submit };
}

export function SetupForm() {
  const { refresh } = useAuth();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [setupCode, setSetupCode] = useState("");
  const { error, busy, submit } = useSubmit(async () => {
    await auth.createFirstUser(email, password, setupCode);
    const dest = await postSignInDestination();
    await refresh();
    navigate(dest, { replace: true });
  });
  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="setup-title">
        <div className="brand-big">
          <Logo size={44} />
        </div>
        <h1 id="setup-title">Welcome</h1>
        <p className="muted">Create your first user account. It will be the admin.</p>
        <label>
          Setup code
          <input
            name="setup-code"
            autoComplete="off"
            spellCheck={false}
            maxLength={64}
            value={setupCode}
            onChange={(e) => setSetupCode(e.target.value)}
            placeholder="XXXX-XXXX-XXXX"
            aria-describedby="setup-code-help"
          />
        </label>
        <p id="setup-code-help" className="muted small">
          The backend prints a one-time setup code in its log at start (<code>setup_code_issued</code>; shown
          by <code>make run</code>, or <code>docker compose logs junjo-ai-studio-backend</code>). On your own
          machine in development it may be left empty.
        </p>
        <label>
          Email
          <input
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            placeholder="Email address"
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            placeholder="At least 8 characters"
          />
        </label>
        {error ? (
          <div className="alert alert-error" role="alert">
            {error}
          </div>
        ) : null}
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create Account"}
        </button>
      </form>
    </div>
  );
}

export function SignInForm({ redirect }: { redirect: boolean }) {
  const { refresh } = useAuth();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { error, busy, submit } = useSubmit(async () => {
    await auth.signIn(email, password);
    const dest = redirect ? await postSignInDestination() : null;
    await refresh();
    if (dest) navigate(dest, { replace: true });
  });
  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand-big">
          <Logo size={44} />
        </div>
        <h1 id="signin-title">Sign in</h1>
        <label>
          Email
          <input
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            placeholder="Email address"
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            placeholder="Password"
          />
        </label>
        {error ? (
          <div className="alert alert-error" role="alert">
            {error}
          </div>
        ) : null}
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign In"}
        </button>
      </form>
    </div>
  );
}

/** First-user setup wizard and the sign-in form (rendered in place at deep links). */
import { useState, type FormEvent, type ReactNode } from "react";
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

/** The card both forms are: the logo, the title, their fields, the error and the submit button. */
function AuthCard({
  id,
  title,
  submit,
  error,
  busy,
  action,
  busyAction,
  children,
}: {
  id: string;
  title: string;
  submit: (e: FormEvent) => void;
  error: string | null;
  busy: boolean;
  action: string;
  busyAction: string;
  children: ReactNode;
}) {
  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby={id}>
        <div className="brand-big">
          <Logo size={44} />
        </div>
        <h1 id={id}>{title}</h1>
        {children}
        {error ? (
          <div className="alert alert-error" role="alert">
            {error}
          </div>
        ) : null}
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? busyAction : action}
        </button>
      </form>
    </div>
  );
}

/** Email and password; for a new account the password manager suggests one of at least 8 characters. */
function CredentialFields({
  email,
  setEmail,
  password,
  setPassword,
  newAccount,
}: {
  email: string;
  setEmail: (email: string) => void;
  password: string;
  setPassword: (password: string) => void;
  newAccount: boolean;
}) {
  return (
    <>
      <label>
        Email
        <input
          type="email"
          autoComplete={newAccount ? "email" : "username"}
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
          autoComplete={newAccount ? "new-password" : "current-password"}
          required
          minLength={newAccount ? 8 : undefined}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          placeholder={newAccount ? "At least 8 characters" : "Password"}
        />
      </label>
    </>
  );
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
    <AuthCard
      id="setup-title"
      title="Welcome"
      submit={submit}
      error={error}
      busy={busy}
      action="Create Account"
      busyAction="Creating…"
    >
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
        The backend prints a one-time setup code in its log at start (<code>setup_code_issued</code>; shown by{" "}
        <code>make run</code>, or <code>docker compose logs junjo-ai-studio-backend</code>). On your own
        machine in development it may be left empty.
      </p>
      <CredentialFields
        email={email}
        setEmail={setEmail}
        password={password}
        setPassword={setPassword}
        newAccount
      />
    </AuthCard>
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
    <AuthCard
      id="signin-title"
      title="Sign in"
      submit={submit}
      error={error}
      busy={busy}
      action="Sign In"
      busyAction="Signing in…"
    >
      <CredentialFields
        email={email}
        setEmail={setEmail}
        password={password}
        setPassword={setPassword}
        newAccount={false}
      />
    </AuthCard>
  );
}

/** The frame around every page: sidebar navigation (a drawer on narrow screens) and the content area. */
import { useEffect, useState, type ReactNode } from "react";
import { NavLink, useLocation, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { DisplaySettings } from "./DisplaySettings";
import { Logo } from "./Logo";

const NAV = [
  { to: "/", label: "Services", end: true, adminOnly: false },
  { to: "/evaluations", label: "Evaluations", end: false, adminOnly: false },
  { to: "/agents", label: "Agents", end: false, adminOnly: false },
  { to: "/api-keys", label: "API Keys", end: false, adminOnly: true },
  { to: "/users", label: "Users", end: false, adminOnly: true },
  { to: "/settings", label: "Settings", end: false, adminOnly: false },
];

const RESOURCES = [
  { href: "https://junjo.ai/docs/python", label: "Junjo SDK docs" },
  { href: "https://github.com/mdrideout/junjo", label: "Junjo on GitHub" },
];

export function AppShell({ children }: { children: ReactNode }) {
  const { authenticated, email, isAdmin, role, signOut } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [open, setOpen] = useState(false);
  // Lists, traces and the debugger all live under "Services".
  const inTelemetry = /^\/(logs|traces|workflows)\//.test(location.pathname);
  useEffect(() => setOpen(false), [location.pathname]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);
  const doSignOut = async () => {
    await signOut();
    navigate("/sign-in", { replace: true });
  };
  return (
    <div className="shell">
      <div className="topbar">
        <button
          type="button"
          className="btn btn-ghost"
          aria-label="Open navigation"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          ☰
        </button>
        <span className="wordmark">junjo</span>
      </div>
      <aside className={`sidebar ${open ? "open" : ""}`} aria-label="Main">
        <div className="brand">
          <Logo /> <span className="wordmark">junjo</span> <span className="muted small">AI Studio</span>
        </div>
        <nav aria-label="Primary">
          {authenticated ? (
            <ul className="nav">
              {NAV.filter((n) => isAdmin || !n.adminOnly).map((n) => (
                <li key={n.to}>
                  <NavLink
                    to={n.to}
                    end={n.end}
                    className={({ isActive }) => (isActive || (n.to === "/" && inTelemetry) ? "active" : "")}
                  >
                    {n.label}
                  </NavLink>
                </li>
              ))}
              <li>
                <button type="button" className="nav-button" onClick={doSignOut}>
                  Sign out
                </button>
              </li>
            </ul>
          ) : (
            <ul className="nav">
              <li>
                <NavLink to="/sign-in">Sign in</NavLink>
              </li>
            </ul>
          )}
        </nav>
        <div className="nav-section">Resources</div>
        <ul className="nav">
          {RESOURCES.map((r) => (
            <li key={r.href}>
              <a href={r.href} target="_blank" rel="noopener noreferrer">
                {r.label} ↗
              </a>
            </li>
          ))}
        </ul>
        <DisplaySettings user={email ?? ""} />
        {email ? (
          <div className="muted small signed-in">
            Signed in as {email} ({role})
          </div>
        ) : null}
      </aside>
      {open ? <div className="scrim" onClick={() => setOpen(false)} aria-hidden /> : null}
      <main className="content">{children}</main>
    </div>
  );
}

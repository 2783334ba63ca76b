/**
 * Display preferences kept in the browser (per signed-in user): the time zone every timestamp is shown
 * in, and the colour theme. A tiny external store so any component can read them with a hook and
 * re-render when they change.
 */
import { useSyncExternalStore } from "react";

export type TimeZoneChoice = "local" | "utc";
export type ThemeChoice = "system" | "light" | "dark";

interface Preferences {
  timeZone: TimeZoneChoice;
  theme: ThemeChoice;
}

const DEFAULTS: Preferences = { timeZone: "local", theme: "system" };
let owner = "";
let current: Preferences = DEFAULTS;
const listeners = new Set<() => void>();

const storageKey = () => `junjo.preferences${owner ? `.${owner}` : ""}`;

function read(): Preferences {
  try {
    const raw = window.localStorage.getItem(storageKey());
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    const p = (parsed && typeof parsed === "object" ? parsed : {}) as Partial<Preferences>;
    return {
      timeZone: p.timeZone === "utc" ? "utc" : "local",
      theme: p.theme === "light" || p.theme === "dark" ? p.theme : "system",
    };
  } catch {
    return DEFAULTS;
  }
}

const darkQuery = typeof window !== "undefined" && window.matchMedia?.("(prefers-color-scheme: dark)");
let followingSystem = false;

/** Sets <html data-theme> to the chosen theme, or to the OS's while the choice is "system". */
function applyTheme(theme: ThemeChoice): void {
  if (typeof document === "undefined") return;
  followingSystem = theme === "system";
  const resolved = followingSystem ? (darkQuery && darkQuery.matches ? "dark" : "light") : theme;
  document.documentElement.setAttribute("data-theme", resolved);
}

if (darkQuery) darkQuery.addEventListener?.("change", () => followingSystem && applyTheme("system"));

// The last theme used in this browser is applied before anyone is signed in, so the page does not
// flash in the other theme while the session is checked.
const LAST_THEME = "junjo.theme.last";

function publish(next: Preferences): void {
  current = next;
  applyTheme(next.theme);
  try {
    window.localStorage.setItem(LAST_THEME, next.theme);
  } catch {
    // No storage: nothing to remember.
  }
  listeners.forEach((l) => l());
}

/** Applies the last theme used in this browser (called once at start-up). */
export function applyLastTheme(): void {
  try {
    const t = window.localStorage.getItem(LAST_THEME);
    applyTheme(t === "light" || t === "dark" ? t : "system");
  } catch {
    applyTheme("system");
  }
}

/** Loads the preferences of the signed-in user (empty: nobody signed in). */
export function loadPreferencesFor(user: string): void {
  owner = user;
  publish(read());
}

export function setPreference<K extends keyof Preferences>(key: K, value: Preferences[K]): void {
  const next = { ...current, [key]: value };
  try {
    window.localStorage.setItem(storageKey(), JSON.stringify(next));
  } catch {
    // Private browsing without storage: the choice lasts for this page.
  }
  publish(next);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function usePreferences(): Preferences {
  return useSyncExternalStore(subscribe, () => current);
}

export function currentPreferences(): Preferences {
  return current;
}

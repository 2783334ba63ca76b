/**
 * The time zone and theme switches in the sidebar, and the global "/" shortcut that focuses the
 * page's search box. Choices are remembered per signed-in user in this browser.
 */
import { useEffect } from "react";
import {
  loadPreferencesFor,
  setPreference,
  usePreferences,
  type ThemeChoice,
  type TimeZoneChoice,
} from "../lib/preferences";

function useSlashFocusesSearch() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "/" || e.metaKey || e.ctrlKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t?.closest("input, textarea, select, [contenteditable]")) return;
      const box = document.querySelector<HTMLInputElement>("main input[type=search]");
      if (!box) return;
      e.preventDefault();
      box.focus();
      box.select();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

export function DisplaySettings({ user }: { user: string }) {
  useEffect(() => loadPreferencesFor(user), [user]);
  useSlashFocusesSearch();
  const prefs = usePreferences();
  return (
    <div className="display-settings small" role="group" aria-label="Display">
      <label>
        Times
        <select
          value={prefs.timeZone}
          onChange={(e) => setPreference("timeZone", e.target.value as TimeZoneChoice)}
          aria-label="Time zone"
        >
          <option value="local">Local</option>
          <option value="utc">UTC</option>
        </select>
      </label>
      <label>
        Theme
        <select
          value={prefs.theme}
          onChange={(e) => setPreference("theme", e.target.value as ThemeChoice)}
          aria-label="Theme"
        >
          <option value="system">System</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </label>
    </div>
  );
}

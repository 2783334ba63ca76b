/**
 * Checkboxes whose value lives in the URL. Router navigations render in a transition, so a box
 * controlled by the URL alone snaps back to its old state until the next location has rendered
 * (the click seems lost, and a second click toggles the wrong way). These show the click at once
 * and follow the URL whenever it changes.
 */
import { useState, type ReactNode } from "react";

/** `value` as the user last set it, until the URL's `value` changes (Back, a link, the router). */
function useShownValue<T>(value: T): [T, (next: T) => void] {
  const [shown, setShown] = useState(value);
  const [followed, setFollowed] = useState(value);
  if (!Object.is(value, followed)) {
    setFollowed(value);
    setShown(value);
  }
  return [shown, setShown];
}

export function UrlCheckbox({
  checked,
  onChange,
  className = "check",
  children,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  className?: string;
  children: ReactNode;
}) {
  const [shown, setShown] = useShownValue(checked);
  return (
    <label className={className}>
      <input
        type="checkbox"
        checked={shown}
        onChange={(e) => {
          setShown(e.target.checked);
          onChange(e.target.checked);
        }}
      />
      {children}
    </label>
  );
}

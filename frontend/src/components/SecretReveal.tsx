/**
 * A secret the server shows once, at creation (API keys, developer access tokens): it is stored
 * only as a digest, so this box is the one chance to copy it. "Done" dismisses it for good.
 */
import { CopyButton } from "./ui";

export function SecretReveal({
  what,
  name,
  secret,
  testId,
  className = "",
  onDone,
}: {
  /** What the secret is ("API key", "developer access token"). */
  what: string;
  name: string;
  secret: string;
  testId: string;
  className?: string;
  onDone: () => void;
}) {
  return (
    <div className={`alert alert-success ${className}`} role="region" aria-label={`New ${what}`}>
      <strong>
        {what.charAt(0).toUpperCase() + what.slice(1)} "{name}" created.
      </strong>{" "}
      Copy it now: it is shown only once.
      <div className="row gap key-reveal">
        <code data-testid={testId}>{secret}</code>
        <CopyButton value={secret} label={`Copy ${what}`} />
        <button type="button" className="btn btn-ghost btn-xs" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

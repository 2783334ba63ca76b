/**
 * Text of any length without breaking the page: up to LONG_TEXT_CHARS it is shown whole (wrapping,
 * scrolling inside its box when tall); beyond that it is clipped with a "Show all" button that opens
 * the whole value in a dialog with a copy button. Bidirectional controls are shown as markers.
 */
import { useEffect, useRef, useState } from "react";
import { LONG_TEXT_CHARS, neutralizeBidi } from "../lib/text";
import { CopyButton } from "./ui";

export function TextDialog({ title, text, onClose }: { title: string; text: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && typeof d.showModal === "function" && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} className="text-dialog" aria-label={title} onClose={onClose} onCancel={onClose}>
      <div className="text-dialog-head">
        <strong className="ellipsis">{title}</strong>
        <span className="muted small">{text.length.toLocaleString()} characters</span>
        <CopyButton value={text} label={`Copy ${title}`} />
        <button type="button" className="btn btn-xs" onClick={onClose} aria-label="Close">
          Close
        </button>
      </div>
      <pre className="text-dialog-body">{neutralizeBidi(text)}</pre>
    </dialog>
  );
}

export function LongText({ text, title = "value" }: { text: string; title?: string }) {
  const [open, setOpen] = useState(false);
  if (text.length <= LONG_TEXT_CHARS) return <pre className="long-text">{neutralizeBidi(text)}</pre>;
  return (
    <div>
      <pre className="long-text">{neutralizeBidi(text.slice(0, LONG_TEXT_CHARS))}…</pre>
      <button type="button" className="btn btn-xs" onClick={() => setOpen(true)}>
        Show all ({text.length.toLocaleString()} characters)
      </button>
      {open ? <TextDialog title={title} text={text} onClose={() => setOpen(false)} /> : null}
    </div>
  );
}

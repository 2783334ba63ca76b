/** Newer/older buttons of a cursor-paged list and the page number between them. */
export function Pager({
  pageIndex,
  onNewer,
  onOlder,
}: {
  pageIndex: number;
  onNewer: () => void;
  /** Absent on the last page. */
  onOlder?: () => void;
}) {
  return (
    <div className="row gap pager">
      <button type="button" className="btn" disabled={pageIndex === 0} onClick={onNewer}>
        ← Newer
      </button>
      <span className="muted small">Page {pageIndex + 1}</span>
      <button type="button" className="btn" disabled={!onOlder} onClick={onOlder}>
        Older →
      </button>
    </div>
  );
}

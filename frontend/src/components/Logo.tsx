/** The koinobori (carp streamer) mark as inline SVG, so it renders without emoji fonts. */
export function Logo({ size = 22 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden focusable="false" className="logo">
      <path d="M3 4v26" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
      <path d="M4 6h18c4 0 7 2.5 7 5s-3 5-7 5H4z" fill="#e4572e" />
      <path d="M4 17h15c3.5 0 6 2 6 4.5S22.5 26 19 26H4z" fill="#3b82f6" />
      <circle cx="23" cy="10.5" r="1.6" fill="#fff" />
      <circle cx="20" cy="21.2" r="1.4" fill="#fff" />
      <path d="M4 6l4 5-4 5M4 17l3.5 4.5L4 26" fill="none" stroke="var(--bg)" strokeWidth="1.2" />
    </svg>
  );
}

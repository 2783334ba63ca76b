/**
 * Text from telemetry is shown as the bytes say, never as they would steer the page: bidirectional
 * embedding/override/isolate controls (U+202A–202E, U+2066–2069) would silently reverse what follows
 * them, so they are replaced by a visible marker naming the code point.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;

export function neutralizeBidi(text: string): string {
  return text.replace(
    BIDI_CONTROLS,
    (c) => `⟦U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}⟧`,
  );
}

/** Values longer than this show clipped, with the whole text one click away. */
export const LONG_TEXT_CHARS = 2000;

/** A dotted or snake_case key with break opportunities only at its separators. */
export function keyParts(key: string): string[] {
  return key.split(/(?<=[._/-])/);
}

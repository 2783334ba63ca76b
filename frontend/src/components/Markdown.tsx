/**
 * Markdown of LLM messages, rendered by react-markdown with GitHub-flavoured extensions (tables,
 * strikethrough, task lists, autolinks). Raw HTML in the text is dropped, never rendered, and
 * react-markdown's URL filter removes `javascript:`-style links; links open in a new tab.
 *
 * Messages are attacker-controlled and CommonMark's delimiter matching (emphasis, links, code
 * spans) grows superlinearly with the number of delimiters, and nested list/quote markers build
 * arbitrarily deep trees, so a text with more delimiters or deeper nesting than any prose needs is
 * shown as plain text instead of being parsed.
 */
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";

export const MAX_MARKDOWN_DELIMITERS = 2000;
const DELIMITERS = /[*_`[\]~<>]/g;
const DEEP_NESTING = /^[ \t]*(?:(?:[-*+>]|\d{1,9}[.)])[ \t]+){16}/m;

const REMARK_PLUGINS = [remarkGfm];

const COMPONENTS: Components = {
  a: ({ href, title, children }) => (
    <a href={href} title={title} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
  pre: ({ children }) => <pre className="code">{children}</pre>,
};

function delimiterCount(text: string): number {
  let count = 0;
  DELIMITERS.lastIndex = 0;
  while (DELIMITERS.exec(text) && ++count <= MAX_MARKDOWN_DELIMITERS);
  return count;
}

export function Markdown({ text }: { text: string }) {
  if (delimiterCount(text) > MAX_MARKDOWN_DELIMITERS || DEEP_NESTING.test(text))
    return (
      <div className="markdown">
        <p className="muted small">Too much markup to render as Markdown; shown as plain text.</p>
        <pre className="code wrap">{text}</pre>
      </div>
    );
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={REMARK_PLUGINS} components={COMPONENTS} skipHtml>
        {text}
      </ReactMarkdown>
    </div>
  );
}

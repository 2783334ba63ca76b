/** LLM call rendered as chat: role-labelled message cards, tool calls as function calls, model and tokens. */
import { useState } from "react";
import type { Span } from "../../api/types";
import { CopyButton } from "../../components/ui";
import { Markdown } from "../../components/Markdown";
import { extractLlm, type ChatMessage } from "./llm";
import { formatCost } from "../../lib/spans";
import { Segmented } from "../../components/Segmented";

type Mode = "text" | "markdown" | "raw";

function prettyArgs(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

function MessageCard({ m, mode, index, side }: { m: ChatMessage; mode: Mode; index: number; side: string }) {
  const role = m.role.toLowerCase();
  const cls = ["system", "user", "assistant", "tool"].includes(role) ? role : "other";
  return (
    <article className={`msg msg-${cls}`} aria-label={`${side} message ${index + 1}: ${m.role}`}>
      <div className="msg-head">
        <span>
          {m.role}
          {m.name ? ` · ${m.name}` : ""}
          {m.toolCallId ? <span className="muted"> · for call {m.toolCallId}</span> : null}
        </span>
        {m.content ? <CopyButton value={m.content} label={`Copy ${side} message ${index + 1}`} /> : null}
      </div>
      {m.content ? (
        mode === "markdown" ? (
          <div className="msg-body md">
            <Markdown text={m.content} />
          </div>
        ) : mode === "raw" ? (
          <pre className="msg-body mono">{JSON.stringify(m.content)}</pre>
        ) : (
          <div className="msg-body">{m.content}</div>
        )
      ) : null}
      {m.toolCalls.length ? (
        <div className="msg-body">
          {m.toolCalls.map((tc, i) => (
            <div className="tool-call" key={i} aria-label={`Function call ${tc.name}`}>
              <strong>ƒ {tc.name}</strong>({tc.id ? <span className="muted">{tc.id}</span> : null}){"\n"}
              {prettyArgs(tc.arguments)}
            </div>
          ))}
        </div>
      ) : null}
    </article>
  );
}

export function LlmMessages({ span }: { span: Span }) {
  const view = extractLlm(span);
  const [mode, setMode] = useState<Mode>("text");
  if (!view) return null;
  return (
    <section className="section" aria-label="LLM messages">
      <div className="section-title">
        <h3>LLM call</h3>
        <Segmented<Mode>
          label="Message format"
          options={[
            { value: "text", label: "Text" },
            { value: "markdown", label: "Markdown" },
            { value: "raw", label: "Raw" },
          ]}
          value={mode}
          onChange={setMode}
        />
      </div>
      <div className="llm-meta muted">
        {view.provider ? <span>Provider: {view.provider}</span> : null}
        {view.model ? (
          <span>
            Model: <strong>{view.model}</strong>
          </span>
        ) : null}
        {view.tokens ? (
          <span aria-label="Token counts">
            Tokens: {view.tokens.prompt ?? "?"} in / {view.tokens.completion ?? "?"} out
            {view.tokens.total !== undefined ? ` (${view.tokens.total} total)` : ""}
            {view.tokens.cost !== undefined ? ` · ${formatCost(view.tokens.cost)}` : ""}
          </span>
        ) : null}
      </div>
      {view.invocationParameters ? (
        <details>
          <summary className="muted small">Invocation parameters</summary>
          <pre className="code">{view.invocationParameters}</pre>
        </details>
      ) : null}
      <h4>Input</h4>
      {view.input.length ? (
        view.input.map((m, i) => <MessageCard key={i} m={m} mode={mode} index={i} side="Input" />)
      ) : (
        <p className="muted">No input recorded.</p>
      )}
      <h4>Output</h4>
      {view.output.length ? (
        view.output.map((m, i) => <MessageCard key={i} m={m} mode={mode} index={i} side="Output" />)
      ) : (
        <p className="muted">No output recorded.</p>
      )}
    </section>
  );
}

// @vitest-environment jsdom
import { cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { Markdown, MAX_MARKDOWN_DELIMITERS } from "./Markdown";

const KB100 = 100 * 1024;

describe("Markdown", () => {
  afterEach(cleanup);

  it("renders emphasis, code, lists, tables and safe links", () => {
    const { container } = render(
      <Markdown
        text={[
          "# Title",
          "Some **bold** and `code` with a [link](https://example.com) and [bad](javascript:alert(1)).",
          "",
          "- one",
          "- two",
          "",
          "| a | b |",
          "|---|---|",
          "| 1 | 2 |",
          "",
          "```",
          "block",
          "```",
        ].join("\n")}
      />,
    );
    expect(container.querySelector("strong")?.textContent).toBe("bold");
    expect(container.querySelector("code")?.textContent).toBe("code");
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelector("table td")?.textContent).toBe("1");
    expect(container.querySelector("pre.code")?.textContent).toContain("block");
    const links = [...container.querySelectorAll("a")];
    expect(links[0].getAttribute("href")).toBe("https://example.com");
    expect(links[0].getAttribute("rel")).toBe("noopener noreferrer");
    expect(links.every((a) => !(a.getAttribute("href") ?? "").startsWith("javascript:"))).toBe(true);
  });

  it("never renders raw HTML", () => {
    const { container } = render(
      <Markdown text={'<img src=x onerror="alert(1)"><script>alert(1)</script> ok'} />,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container.textContent).toContain("ok");
  });

  // Long runs of "[" or backticks made the old hand-written renderer backtrack quadratically (a
  // 100 KB message froze the tab), and CommonMark parsers slow down on masses of delimiters too;
  // each case below must finish within the runner's test timeout, showing the text.
  it.each([
    ["brackets", "[".repeat(KB100)],
    ["link openers", "[a](".repeat(KB100 / 4)],
    ["backticks", "`".repeat(KB100)],
    ["backtick pairs", "`a".repeat(KB100 / 2)],
    ["emphasis", "*a".repeat(KB100 / 2)],
    ["nested lists", "- ".repeat(KB100 / 2)],
    ["mixed", "[`*_](".repeat(KB100 / 6)],
  ])("renders a 100 KB string of %s", (_name, text) => {
    const { container } = render(<Markdown text={text} />);
    expect(container.textContent).toContain(text.slice(0, 100));
  });

  it("still parses Markdown up to the delimiter bound", () => {
    const text = "*a* ".repeat(MAX_MARKDOWN_DELIMITERS / 2);
    const { container } = render(<Markdown text={text} />);
    expect(container.querySelectorAll("em")).toHaveLength(MAX_MARKDOWN_DELIMITERS / 2);
  });
});

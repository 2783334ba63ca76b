// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ErrorBoundary } from "./ErrorBoundary";

afterEach(cleanup);

function Boom({ fail }: { fail: boolean }) {
  if (fail) throw new Error("unexpected span shape");
  return <p>fine</p>;
}

describe("ErrorBoundary", () => {
  it("shows the error instead of a blank app and recovers on navigation", () => {
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { rerender } = render(
      <ErrorBoundary resetKey="/a">
        <Boom fail />
      </ErrorBoundary>,
    );
    expect(screen.getByRole("alert").textContent).toContain("unexpected span shape");
    rerender(
      <ErrorBoundary resetKey="/b">
        <Boom fail={false} />
      </ErrorBoundary>,
    );
    expect(screen.getByText("fine")).toBeTruthy();
    quiet.mockRestore();
  });
});

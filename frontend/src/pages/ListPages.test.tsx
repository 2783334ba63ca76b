// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { lazy, Suspense } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { span } from "../test/fixtures";
import { TracesListPage } from "./ListPages";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const TRACE = "b".repeat(32);

describe("traces list", () => {
  it("a search typed just before a row is opened does not pull the user back to the list", async () => {
    const root = span({ span_id: "1".repeat(16), trace_id: TRACE, name: "handle_request" });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) =>
        String(url).includes("saved-searches")
          ? new Response("[]")
          : new Response(JSON.stringify([root]), { headers: { "X-Total-Count": "1" } }),
      ),
    );
    // The trace page's code is still loading: the list stays on screen while the URL has moved on.
    const TracePage = lazy(() => new Promise<{ default: () => null }>(() => {}));
    window.history.replaceState(null, "", "/traces/svc?live=0");
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={qc}>
        <BrowserRouter>
          <Suspense fallback={<p>loading page</p>}>
            <Routes>
              <Route path="/traces/:service" element={<TracesListPage />} />
              <Route path="/traces/:service/:traceId" element={<TracePage />} />
            </Routes>
          </Suspense>
        </BrowserRouter>
      </QueryClientProvider>,
    );
    const link = await screen.findByRole("link", { name: "handle_request" });
    vi.useFakeTimers();
    fireEvent.change(screen.getByLabelText("Search names"), { target: { value: "handle" } });
    fireEvent.click(link);
    expect(window.location.pathname).toBe(`/traces/svc/${TRACE}`);
    await act(async () => {
      vi.advanceTimersByTime(1000); // the search's debounce has passed
    });
    expect(window.location.pathname).toBe(`/traces/svc/${TRACE}`);
    expect(window.location.search).not.toContain("q=handle");
  });
});

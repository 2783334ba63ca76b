// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { Suspense } from "react";
import { BrowserRouter, useSearchParams } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import { UrlCheckbox } from "./UrlCheckbox";

afterEach(cleanup);

/** A filter bound to `?errors=1`, beside content that takes a while to render the new location. */
function Filter() {
  const [params, setParams] = useSearchParams();
  return (
    <UrlCheckbox
      checked={params.get("errors") === "1"}
      onChange={(on) => setParams(on ? { errors: "1" } : {}, { replace: true })}
    >
      Errors only
    </UrlCheckbox>
  );
}

let release: () => void = () => {};
const loading = new Promise<void>((resolve) => (release = resolve));
let loaded = false;
void loading.then(() => (loaded = true));

function SlowResults() {
  const [params] = useSearchParams();
  if (params.get("errors") === "1" && !loaded) throw loading;
  return <p>results</p>;
}

describe("UrlCheckbox", () => {
  it("shows a click at once while the router is still rendering the new URL, then follows the URL", async () => {
    window.history.replaceState(null, "", "/list");
    render(
      <BrowserRouter>
        <Suspense fallback={<p>loading</p>}>
          <Filter />
          <SlowResults />
        </Suspense>
      </BrowserRouter>,
    );
    const box = screen.getByLabelText<HTMLInputElement>("Errors only");
    fireEvent.click(box);
    // The navigation is a transition held by the suspended results: the old screen stays...
    expect(window.location.search).toBe("?errors=1");
    expect(screen.getByText("results")).toBeTruthy();
    // ...but the box says what the user did.
    expect(box.checked).toBe(true);
    await act(async () => {
      release();
      await loading;
    });
    expect(box.checked).toBe(true);
    // Back to the unfiltered URL from elsewhere (Back, a link): the box follows it.
    await act(async () => {
      window.history.pushState(null, "", "/list");
      window.dispatchEvent(new PopStateEvent("popstate"));
    });
    expect(box.checked).toBe(false);
  });
});

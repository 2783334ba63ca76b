// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SecretReveal } from "./SecretReveal";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("SecretReveal", () => {
  it("shows the secret once with its name, copies it, and is dismissed by Done", async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal("navigator", { clipboard: { writeText } });
    const onDone = vi.fn();
    render(
      <SecretReveal
        what="developer access token"
        name="ci"
        secret="jst_secret"
        testId="new-token"
        onDone={onDone}
      />,
    );
    const box = screen.getByRole("region", { name: "New developer access token" });
    expect(box.textContent).toContain('Developer access token "ci" created.');
    expect(box.textContent).toContain("shown only once");
    expect(screen.getByTestId("new-token").textContent).toBe("jst_secret");
    fireEvent.click(within(box).getByRole("button", { name: /Copy developer access token/ }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("jst_secret"));
    fireEvent.click(within(box).getByRole("button", { name: "Done" }));
    expect(onDone).toHaveBeenCalledOnce();
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without type declarations
import { generateSchemaTypes } from "../../scripts/openapi-types.mjs";

describe("generated API types", () => {
  it("match the committed OpenAPI snapshot (run `npm run gen:api -- --offline` if not)", async () => {
    const root = new URL("../../", import.meta.url);
    const schema = JSON.parse(readFileSync(new URL("openapi.json", root), "utf8"));
    const committed = readFileSync(new URL("src/api/schema.d.ts", root), "utf8");
    expect(await generateSchemaTypes(schema)).toBe(committed);
  });
});

// Refreshes the committed OpenAPI snapshot (frontend/openapi.json) from a running backend and
// regenerates the TypeScript types (src/api/schema.d.ts) from it.
//   npm run gen:api                       # backend at http://localhost:1323 (make run)
//   npm run gen:api -- http://host:port   # another backend
//   npm run gen:api -- --offline          # only regenerate types from the committed snapshot
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { generateSchemaTypes, sortKeys } from "./openapi-types.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const arg = process.argv[2];
const snapshotPath = `${root}openapi.json`;
let schema;
if (arg === "--offline") {
  schema = JSON.parse(await readFile(snapshotPath, "utf8"));
} else {
  const base = (arg ?? process.env.JUNJO_API_HOST ?? "http://localhost:1323").replace(/\/+$/, "");
  const res = await fetch(`${base}/openapi.json`);
  if (!res.ok) throw new Error(`GET ${base}/openapi.json → ${res.status}`);
  // Types come from the sorted snapshot, so online and --offline runs write the same file.
  schema = sortKeys(await res.json());
  await writeFile(snapshotPath, JSON.stringify(schema, null, 2) + "\n");
  console.log(`wrote ${snapshotPath}`);
}
await writeFile(`${root}src/api/schema.d.ts`, await generateSchemaTypes(schema));
console.log("wrote src/api/schema.d.ts");

/// <reference types="vitest/config" />
// Vite build + Vitest config. The debugger route is lazy-loaded so the list pages stay small.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: { sourcemap: false, target: "es2022" },
  server: { port: 5151 },
  test: {
    environment: "node",
    include: ["src/**/*.test.{ts,tsx}"],
    // A limit against hangs, not a timing check: rendering the debugger takes several seconds when
    // the test machine's cores are busy with other suites.
    testTimeout: 30_000,
  },
});

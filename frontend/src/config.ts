/** Runtime configuration: the API base URL comes from /config.js so one build serves every deployment. */

declare global {
  interface Window {
    runtimeConfig?: { API_HOST?: string };
  }
}

export const DEFAULT_API_HOST = "http://localhost:1323";

export function getApiHost(): string {
  const host = typeof window !== "undefined" ? window.runtimeConfig?.API_HOST : undefined;
  return (host && host.trim() ? host.trim() : DEFAULT_API_HOST).replace(/\/+$/, "");
}

/** Entry: providers, routes. Heavy pages (trace detail, workflow debugger) are lazy-loaded chunks. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { AuthProvider } from "./auth/AuthProvider";
import { AppRoutes } from "./routes";
import { Loading } from "./components/ui";
import { applyLastTheme } from "./lib/preferences";
import { prefetchForLocation } from "./prefetch";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } },
});

applyLastTheme();
prefetchForLocation(queryClient, window.location.pathname, window.location.search);

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AuthProvider>
          <Suspense fallback={<Loading />}>
            <AppRoutes />
          </Suspense>
        </AuthProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);

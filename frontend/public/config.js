// Runtime configuration. Replaced at container start / by `make run` with the backend URL.
window.runtimeConfig = window.runtimeConfig || {};

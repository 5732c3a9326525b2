// tells workspace: adds the session's CSRF token to every state-changing fetch (the trainer
// app's JSON calls included) and follows a recording's analysis job live.
"use strict";
(function () {
  const meta = document.querySelector('meta[name="csrf"]');
  const token = meta ? meta.content : null;
  const origFetch = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const method = (init.method || "GET").toUpperCase();
    if (token && method !== "GET" && method !== "HEAD") {
      const headers = new Headers(init.headers || {});
      headers.set("X-CSRF-Token", token);
      init = { ...init, headers, credentials: "same-origin" };
    }
    return origFetch(input, init);
  };
  const job = document.getElementById("job");
  if (job && !["done", "failed"].includes(job.dataset.status)) {
    const poll = async () => {
      try {
        const r = await origFetch(`/api/v1/jobs/${job.dataset.job}`);
        const j = await r.json();
        const bar = document.getElementById("job-progress");
        if (j.fraction !== null) bar.value = j.fraction;
        document.getElementById("job-status").textContent = j.status;
        document.getElementById("job-frames").textContent = `${j.frames_done}${j.frames_total ? " / " + j.frames_total : ""} frames`;
        job.dataset.status = j.status;
        if (j.status === "done" || j.status === "failed") { location.reload(); return; }
      } catch (e) { /* the server restarts: keep trying */ }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 1000);
  }
})();

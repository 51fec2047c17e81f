// The checkout page's live part: polls /pay/{ordersn}/status, shows the state and the
// confirmations as they arrive, counts the time left down, and copies the address and
// the amount. The page is complete without it.
"use strict";
(function () {
  const root = document.getElementById("checkout");
  if (!root) return;
  const url = root.dataset.statusUrl;
  const stateEl = document.getElementById("state");
  const bar = document.getElementById("confirmations");
  const received = document.getElementById("received");
  const left = document.getElementById("time-left");
  let state = root.dataset.state;
  let deadline = Date.now() + Number(root.dataset.expiresIn || 0) * 1000;

  function two(n) { return String(n).padStart(2, "0"); }
  function tick() {
    if (state !== "pending") { left.textContent = "0:00:00"; return; }
    const s = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    left.textContent = Math.floor(s / 3600) + ":" + two(Math.floor(s % 3600 / 60)) + ":" + two(s % 60);
  }

  function show(st) {
    state = st.state;
    root.dataset.state = state;
    let text;
    if (state === "confirmed") text = root.dataset.confirmed;
    else if (state === "confirming") text = root.dataset.seen
      .replace("{k}", String(st.confirmations)).replace("{n}", String(st.required_confirmations));
    else if (state === "expired") text = root.dataset.expired;
    else text = root.dataset.waiting;
    stateEl.textContent = text;
    stateEl.className = "state state-" + state;
    bar.max = st.required_confirmations;
    bar.value = st.confirmations;
    bar.textContent = st.confirmations + " / " + st.required_confirmations;
    received.textContent = st.received;
    if (state === "pending") deadline = Date.now() + st.expires_in * 1000;
    tick();
  }

  async function poll() {
    let next = 2000;
    try {
      const r = await fetch(url, { cache: "no-store", headers: { accept: "application/json" } });
      if (r.ok) show(await r.json());
      // 429 or 503: the gateway says when to ask again (at most a minute).
      const after = Number(r.headers.get("retry-after"));
      if (!r.ok && after > 0) next = Math.min(after, 60) * 1000;
    } catch (_) { /* offline for a moment: the next poll tries again */ }
    if (state !== "confirmed" && state !== "expired") setTimeout(poll, next);
  }

  for (const button of document.querySelectorAll("button.copy")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copyTarget).textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = root.dataset.copied;
        setTimeout(() => { button.textContent = root.dataset.copy; }, 1500);
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copyTarget));
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    });
  }
  setInterval(tick, 1000);
  tick();
  if (state !== "confirmed" && state !== "expired") setTimeout(poll, 1000);
})();

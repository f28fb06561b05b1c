// The board's live refresh. Without it the board is complete, only not
// live: every few seconds it asks /board/live whether anything happened
// in the village after the event the page was drawn at, and if so fetches
// the board again from its own address (data-url) and swaps the live part
// in place (forms, a dry run on screen and the scroll position stay as
// they are).
"use strict";
(function () {
  var live = document.getElementById("live");
  if (!live || !window.fetch) return;
  var every = Number(live.dataset.every) || 5000;
  document.documentElement.classList.add("live");
  // A board signed out (its card revoked or expired) stops asking: the
  // answer is a redirect to the sign-in page or a 401, never news, and
  // asking again every few seconds would only keep failing. Redirects are
  // not followed, so they are seen as such.
  function signedOut(r) {
    return r.type === "opaqueredirect" || r.status === 401 || (r.status >= 300 && r.status < 400);
  }
  function stop() {
    var note = document.createElement("p");
    note.className = "signed-out";
    note.setAttribute("role", "alert");
    note.textContent = "登录已失效，请重新扫码 signed out";
    live.parentNode.insertBefore(note, live);
  }
  function tick() {
    var url = "/board/live?after=" + encodeURIComponent(live.dataset.version || "0");
    fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (r) {
        if (signedOut(r)) return { out: true };
        return r.ok ? r.json() : null;
      })
      .then(function (s) {
        if (s && s.out) return s;
        if (!s) return;
        if (s.every) every = s.every;
        if (s.changed) return refresh();
      })
      .catch(function () { /* offline for a moment: try again later */ })
      .then(function (s) {
        if (s && s.out) return stop();
        setTimeout(tick, every);
      });
  }
  // The board's own address, not the page's: after a dry run or a
  // refused form the page is a post's answer (/board/plan, /board/rain),
  // and those addresses take no GET.
  function refresh() {
    return fetch(live.dataset.url || "/board", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        if (!fresh) return;
        live.innerHTML = fresh.innerHTML;
        live.dataset.version = fresh.dataset.version;
        live.classList.add("refreshed");
        setTimeout(function () { live.classList.remove("refreshed"); }, 1200);
      });
  }
  setTimeout(tick, every);
})();

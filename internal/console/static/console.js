// Coffer console: small improvements only; every page works without this file.
// - Dates are sent in UTC (<time datetime>, UTC also in the title, shown on hover); here
//   they are shown in the reader's own time zone.
// - "Time left" counts down.
// - A purge button stays disabled until the name is typed exactly (the server checks
//   it again).
"use strict";
(function () {
  function local(el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) return;
    el.textContent = d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  }
  // The vault clock may run ahead of this browser's (a server with a time shift): count
  // down on the server's time, as the page was drawn, moved on by the time since.
  var main = document.getElementById("main");
  var skew = main && main.getAttribute("data-now") ? new Date(main.getAttribute("data-now")) - new Date() : 0;
  function left(el) {
    var ms = new Date(el.getAttribute("data-until")) - (new Date().getTime() + skew);
    var m = Math.floor(ms / 60000);
    if (m < 1) { el.textContent = "less than a minute"; return; }
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    el.textContent = d > 0 ? d + "d " + h + "h" : h > 0 ? h + "h " + (m % 60) + "m" : m + "m";
  }
  function tick() { document.querySelectorAll("[data-until]").forEach(left); }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("time[datetime]").forEach(local);
    tick();
    setInterval(tick, 30000);
    document.querySelectorAll("input[data-must]").forEach(function (input) {
      var button = input.form.querySelector("button[type=submit]");
      var check = function () { button.disabled = input.value !== input.getAttribute("data-must"); };
      input.addEventListener("input", check);
      check();
    });
  });
})();

// QA dashboard: progressive enhancement only. Every page works without this file.
"use strict";

(function () {
  var POLL_MS = 1500;
  var REFRESH_MS = 3000;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      });
  }

  function getHTML(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
        return response.text();
      });
  }

  // ---- exchanges: poll for new exchanges and put them on top ----
  function liveLog(log) {
    var feed = log.dataset.feed;
    var query = log.dataset.query;
    var limit = parseInt(log.dataset.limit, 10) || 100;
    var last = parseInt(log.dataset.lastSeq, 10) || 0;
    var live = true;
    var busy = false;
    var toggle = document.getElementById("live-toggle");
    var status = document.getElementById("live-status");
    var count = document.getElementById("log-count");
    var empty = document.getElementById("no-exchanges");

    function say(text) { if (status) { status.textContent = text; } }

    function insert(html, replace) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var items = Array.prototype.slice.call(holder.children);
      if (replace) { log.innerHTML = ""; }
      for (var i = items.length - 1; i >= 0; i--) {
        items[i].classList.add("fresh");
        log.insertBefore(items[i], log.firstChild);
      }
      while (log.children.length > limit) { log.removeChild(log.lastElementChild); }
      if (empty) { empty.hidden = log.children.length > 0; }
    }

    function poll() {
      if (!live || busy || document.hidden) { return; }
      busy = true;
      getJSON(feed + "?after=" + last + (query ? "&" + query : ""))
        .then(function (data) {
          if (data.reset) { insert(data.html || "", true); }
          else if (data.count) { insert(data.html, false); }
          last = data.last_seq;
          if (count) { count.textContent = "(" + data.recorded + " recorded)"; }
          // The log itself is aria-live: its new entries are announced, so no second announcement here.
        })
        .catch(function (error) { say("Live updates paused: " + error.message + ". Reload the page to retry."); live = false; })
        .then(function () { busy = false; });
    }

    if (toggle) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        live = !live;
        toggle.setAttribute("aria-pressed", String(live));
        toggle.textContent = live ? "Live updates on" : "Live updates paused";
        say(live ? "Live updates on." : "Live updates paused.");
        if (live) { poll(); }
      });
    }
    setInterval(poll, POLL_MS);
  }

  // ---- sections that refresh themselves (fault counters, health) ----
  function refresher(element) {
    var url = element.dataset.refresh;
    var busy = false;
    setInterval(function () {
      // Never swap content under the keyboard focus or an open menu.
      if (busy || document.hidden || element.contains(document.activeElement)) { return; }
      busy = true;
      getHTML(url)
        .then(function (html) { if (html.trim() !== element.innerHTML.trim()) { element.innerHTML = html; } })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { busy = false; });
    }, REFRESH_MS);
  }

  // ---- fault form: show the parameters of the chosen kind only ----
  function faultForm(form) {
    var kind = form.querySelector("#f-kind");
    var params = form.querySelectorAll(".param");
    function update() {
      for (var i = 0; i < params.length; i++) {
        var wanted = params[i].dataset.kinds.split(" ").indexOf(kind.value) !== -1;
        params[i].hidden = !wanted;
        var inputs = params[i].querySelectorAll("input, select");
        for (var j = 0; j < inputs.length; j++) { inputs[j].disabled = !wanted; }
      }
      var fieldset = document.getElementById("params");
      if (fieldset) { fieldset.hidden = form.querySelectorAll(".param:not([hidden])").length === 0; }
    }
    kind.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    var log = document.getElementById("exchange-log");
    if (log && log.dataset.feed) { liveLog(log); }
    var refreshing = document.querySelectorAll("[data-refresh]");
    for (var i = 0; i < refreshing.length; i++) { refresher(refreshing[i]); }
    var form = document.getElementById("fault-form");
    if (form) { faultForm(form); }
    var flash = document.getElementById("flash");
    if (flash && flash.getAttribute("role") === "alert") { flash.setAttribute("tabindex", "-1"); flash.focus(); }
  });
})();

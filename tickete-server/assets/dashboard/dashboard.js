// tickete dashboard: live figures by short polling, heatmap cell detail, delete confirmation.
// Hand-written, no dependencies, served from the binary (CSP: script-src 'self').
(function () {
  "use strict";
  var POLL_MS = 2000;

  function fmtTime(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function timeEl(iso) {
    if (!iso) return document.createTextNode("–");
    var t = document.createElement("time");
    t.setAttribute("datetime", iso);
    t.textContent = fmtTime(iso);
    return t;
  }

  function setLive(root, key, value) {
    root.querySelectorAll('[data-live="' + key + '"]').forEach(function (el) {
      if (value instanceof Node) {
        el.replaceChildren(value.cloneNode(true));
      } else {
        el.textContent = String(value);
      }
    });
  }

  function cell(content) {
    var td = document.createElement("td");
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = String(content);
    return td;
  }

  function runRow(run) {
    var tr = document.createElement("tr");
    tr.id = "run-" + run.id;
    var a = document.createElement("a");
    a.href = "/admin/runs/" + run.id;
    a.textContent = "#" + run.id;
    var status = document.createElement("span");
    status.className = "status " + run.status;
    status.textContent = run.status;
    [a, run.job, run.trigger, status, timeEl(run.startedAt), ownerText(run), scopeText(run),
      run.fetched + " / " + run.planned, run.changed, run.failed, run.missed
    ].forEach(function (c) { tr.appendChild(cell(c)); });
    return tr;
  }

  // The same words as RunBody::owner_text and RunBody::scope_text on the server.
  function ownerText(run) {
    var o = run.owner;
    return o ? o.kind + "@" + o.host + ":" + o.pid : "-";
  }

  function scopeText(run) {
    var p = run.scope.products;
    return (Array.isArray(p) ? p.join(",") : "all") + "\u00d7" + run.scope.windowDays + "d";
  }

  function applyRun(root, run) {
    var status = root.querySelector('[data-live="status"]');
    if (status) {
      status.className = "status " + run.status;
      status.textContent = run.status;
    }
    setLive(root, "finishedAt", timeEl(run.finishedAt));
    ["planned", "fetched", "changed", "unchanged", "skippedFresh", "failed", "missed"]
      .forEach(function (k) { setLive(root, k, run[k]); });
  }

  // The same words as layout::duration on the server.
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 120) return seconds + " s";
    if (seconds < 7200) return Math.floor(seconds / 60) + " min";
    if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
    return (seconds / 86400).toFixed(1) + " d";
  }

  function applyDemand(s) {
    setLive(document, "demandCalls", s.demand.callsPerMinute);
    setLive(document, "demandShare", s.demand.budgetShare);
    var over = s.demand.budgetShare > 1 ? "true" : "false";
    document.querySelectorAll("[data-when-over]").forEach(function (el) {
      el.hidden = el.getAttribute("data-when-over") !== over;
    });
    var body = document.querySelector("tbody[data-live-freshness]");
    if (!body || !s.freshness.length) return;
    body.replaceChildren.apply(body, s.freshness.map(function (job) {
      var tr = document.createElement("tr");
      [job.job, job.pairs, job.withinTarget, job.neverFetched, duration(job.p95AgeSeconds),
        duration(job.oldestAgeSeconds)
      ].forEach(function (c) { tr.appendChild(cell(c)); });
      return tr;
    }));
  }

  // Moves the budget chart's bars (drawn by budget_chart.rs) to the latest minutes.
  function applyBudgetUse(use) {
    var svg = document.getElementById("budget-chart");
    if (!svg || !use) return;
    var height = Number(svg.getAttribute("data-height"));
    var busiest = use.minutes.reduce(function (m, x) { return Math.max(m, x.calls); }, 0);
    var scale = Math.max(use.ratePerMinute * 1.25, busiest);
    var total = 0;
    use.minutes.forEach(function (minute, index) {
      total += minute.calls;
      var bar = svg.querySelector('rect[data-minute="' + index + '"]');
      if (!bar) return;
      var h = scale > 0 ? Math.min(height, minute.calls / scale * height) : 0;
      bar.setAttribute("y", (height - h).toFixed(1));
      bar.setAttribute("height", h.toFixed(1));
      var title = bar.querySelector("title");
      if (title) title.textContent = minute.at.substr(11, 5) + " UTC: " + minute.calls + " calls";
    });
    var line = svg.querySelector("line.ceiling");
    if (line && scale > 0) {
      var y = (height - Math.min(height, use.ratePerMinute / scale * height)).toFixed(1);
      line.setAttribute("y1", y);
      line.setAttribute("y2", y);
    }
    setLive(document, "callsHour", total);
  }

  function poll() {
    var runsBody = document.querySelector("tbody[data-live-runs]");
    var runRoot = document.querySelector("[data-live-run]");
    var params = [];
    if (runsBody) params.push("runs=" + encodeURIComponent(runsBody.getAttribute("data-live-runs")));
    if (runRoot) params.push("run=" + encodeURIComponent(runRoot.getAttribute("data-live-run")));
    fetch("/admin/live?" + params.join("&"), { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) {
          window.location.assign("/admin/login");
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (live) {
        if (!live) return;
        var s = live.status;
        setLive(document, "state", s.paused ? "Paused" : "Running");
        document.querySelectorAll("[data-when]").forEach(function (el) {
          el.hidden = el.getAttribute("data-when") !== (s.paused ? "paused" : "running");
        });
        setLive(document, "pausedAt", timeEl(s.pausedAt));
        setLive(document, "pending", s.pending);
        setLive(document, "inFlight", s.inFlight);
        var held = s.partnerBudget.heldUntil;
        if (held) {
          var span = document.createElement("span");
          span.append("until ", timeEl(held));
          setLive(document, "heldUntil", span);
        } else {
          setLive(document, "heldUntil", "none");
        }
        applyDemand(s);
        applyBudgetUse(live.budgetUse);
        if (runsBody && live.runs) {
          runsBody.replaceChildren.apply(runsBody, live.runs.map(runRow));
          var empty = document.querySelector(".empty");
          if (empty && live.runs.length) empty.remove();
        }
        if (runRoot && live.run) applyRun(runRoot, live.run);
        document.body.setAttribute("data-live-at", new Date().toISOString());
      })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { setTimeout(poll, POLL_MS); });
  }

  function heatmap() {
    var table = document.getElementById("heatmap");
    var panel = document.getElementById("cell-detail");
    if (!table || !panel) return;
    var dates = table.getAttribute("data-dates").split(",");
    table.addEventListener("click", function (event) {
      var td = event.target.closest("td");
      if (!td) return;
      var tr = td.parentElement;
      var product = tr.getAttribute("data-p");
      var date = dates[td.cellIndex - 1];
      var selected = table.querySelector("td.selected");
      if (selected) selected.classList.remove("selected");
      td.classList.add("selected");
      panel.textContent = "Loading…";
      fetch("/admin/freshness/cell?product=" + encodeURIComponent(product) + "&date=" + encodeURIComponent(date),
        { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          // The fragment is rendered and escaped by the server (maud), from our own origin.
          panel.innerHTML = html;
          panel.scrollIntoView({ block: "nearest" });
        });
    });
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    heatmap();
    confirmations();
    if (document.querySelector("[data-live], [data-live-runs], [data-live-run]")) poll();
  });
})();

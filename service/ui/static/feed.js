// The activity feed keeps itself current: it polls the project's JSON feed and
// rewrites its fixed rows in place, so an update never moves anything on the page.
"use strict";
(function () {
  const list = document.getElementById("feed");
  if (!list) return;
  const project = list.dataset.project;
  const size = Number(list.dataset.size);
  const state = document.getElementById("feed-state");
  const rows = Array.from(list.querySelectorAll(".feed-row"));
  const PERIOD_MS = 2000;
  const idOf = (h) => [h.changed_at, h.task, h.from_status || "", h.to_status].join("|");
  let shown = rows.map((row) => row.dataset.id).filter(Boolean);

  function badge(status) {
    const span = document.createElement("span");
    span.className = "status status-" + status;
    span.textContent = status.replace(/_/g, " ");
    return span;
  }

  function text(className, value) {
    const span = document.createElement("span");
    span.className = className;
    span.textContent = value || "";
    return span;
  }

  function fill(row, change, fresh) {
    row.replaceChildren();
    row.classList.toggle("fresh", fresh);
    if (!change) {
      delete row.dataset.id;
      return;
    }
    row.dataset.id = idOf(change);
    const time = document.createElement("time");
    time.dateTime = change.changed_at;
    time.textContent = change.changed_at.slice(0, 19).replace("T", " ");
    const link = document.createElement("a");
    link.href = "/ui/projects/" + encodeURIComponent(project) + "/tasks/" + encodeURIComponent(change.task);
    link.textContent = change.task;
    const what = text("change", "");
    if (change.from_status) what.append(badge(change.from_status), " → ");
    what.append(badge(change.to_status));
    row.append(time, " ", link, " ", what, " ", text("actor", change.actor), " ", text("note", change.note));
  }

  async function poll() {
    if (!document.hidden) {
      try {
        const url = "/projects/" + encodeURIComponent(project) + "/history?limit=" + size;
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error("status " + response.status);
        const page = await response.json();
        const before = new Set(shown);
        const ids = page.items.map(idOf);
        if (ids.join("\n") !== shown.join("\n")) {
          rows.forEach((row, i) => fill(row, page.items[i], i < ids.length && !before.has(ids[i])));
          const fresh = ids.filter((id) => !before.has(id)).length;
          shown = ids;
          state.textContent = fresh === 1 ? "1 new change" : fresh + " new changes";
        }
        list.dataset.polled = String(Date.now());
      } catch (error) {
        state.textContent = "The feed did not answer; trying again.";
      }
    }
    setTimeout(poll, PERIOD_MS);
  }

  setTimeout(poll, PERIOD_MS);
})();

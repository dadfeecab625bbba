// ci-jobs console: plain JavaScript, no library. The server pages and filters; this renders and follows.
"use strict";
const API = "/console/api";
const state = { me: null, bucket: "", filter: {}, cursors: [null], page: 0, rows: [], options: null, es: null, timer: null };

function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else if (k === "text") n.textContent = v;
    else if (k === "style") n.style.cssText = v;  // CSSOM: allowed by the page's CSP, a style attribute is not
    else n.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) n.append(k instanceof Node ? k : String(k));
  return n;
}
const $ = (s) => document.querySelector(s);
const fmt = (t) => t ? new Date(t * 1000).toLocaleString() : "-";
const q = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v !== "" && v !== null && v !== undefined)).toString();
function toast(msg) { const t = $("#toast"); t.textContent = msg; t.className = "show"; clearTimeout(toast.h); toast.h = setTimeout(() => { t.className = ""; }, 4000); }

async function call(method, path, body, raw) {
  const headers = {};
  if (state.me && method !== "GET") headers["X-CSRF-Token"] = state.me.Csrf;
  let payload = body;
  if (body !== undefined && !raw) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const r = await fetch(API + path, { method, headers, body: payload, credentials: "same-origin" });
  const isJson = (r.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await r.json() : await r.text();
  if (!r.ok) { const e = new Error(data && data.error ? data.error.message : r.statusText); e.status = r.status; throw e; }
  return data;
}
const obj = (key, extra) => `${API}/object/${encodeURIComponent(state.bucket)}?${q({ key, ...(extra || {}) })}`;

// --- sign-in -------------------------------------------------------------------------------
function signInView() {
  $("#who").textContent = ""; $("#signout").hidden = true; $("#bucket").hidden = true;
  const form = el("form", { class: "card signin", id: "signin", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await call("POST", "/signin", { secretId: $("#secretId").value, secretKey: $("#secretKey").value });
      history.replaceState(null, "", "/console/"); await start();
    } catch (e) { toast(e.message); }
  } },
  el("h2", { text: "Sign in" }),
  el("p", { class: "muted", text: "With an account's SecretId and SecretKey (as configured in [[accounts]])." }),
  el("input", { id: "secretId", name: "secretId", placeholder: "SecretId", autocomplete: "username", required: true }),
  el("input", { id: "secretKey", name: "secretKey", type: "password", placeholder: "SecretKey", autocomplete: "current-password", required: true }),
  el("button", { class: "primary", type: "submit", text: "Sign in" }));
  $("#main").replaceChildren(el("section", {}, form));
  call("GET", "/signin").then((o) => { if (o.Password) $("#main section").append(passwordForm()); }).catch(() => {});
}
function passwordForm() {
  return el("form", { class: "card signin", id: "signin-password", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await call("POST", "/signin", { password: $("#consolePassword").value });
      history.replaceState(null, "", "/console/"); await start();
    } catch (e) { toast(e.message); }
  } },
  el("h2", { text: "Or with the console password" }),
  el("p", { class: "muted", text: "The [console] password of the server's configuration: it signs in as the account [console] account names." }),
  el("input", { id: "consolePassword", name: "password", type: "password", placeholder: "Console password", autocomplete: "current-password", required: true }),
  el("button", { class: "primary", type: "submit", text: "Sign in with the password" }));
}

async function start() {
  try { state.me = await call("GET", "/me"); } catch (e) { if (e.status === 401) return signInView(); throw e; }
  $("#who").textContent = `APPID ${state.me.AppId} · ${state.me.SecretId}`;
  $("#signout").hidden = false;
  const sel = $("#bucket"); sel.hidden = false;
  sel.replaceChildren(...state.me.Buckets.map((b) => el("option", { value: b.Name, text: b.Name })));
  const m = location.pathname.match(/^\/console\/tasks\/([^/]+)\/([^/]+)/);
  state.bucket = m ? decodeURIComponent(m[1]) : (sessionStorage.getItem("bucket") || (state.me.Buckets[0] || {}).Name || "");
  if (!state.me.Buckets.some((b) => b.Name === state.bucket)) state.bucket = (state.me.Buckets[0] || {}).Name || "";
  sel.value = state.bucket;
  follow();
  if (m) return detailView(decodeURIComponent(m[2]));
  return listView();
}

function follow() {
  if (state.es) return;
  state.es = new EventSource(API + "/events");
  const kick = () => { if (state.refresh) state.refresh(); };
  state.es.addEventListener("job", kick); state.es.addEventListener("object", kick);
  state.timer = setInterval(() => { if (state.busy && state.refresh) state.refresh(); }, 1000);
}

// --- the task list ---------------------------------------------------------------------------
async function listView() {
  state.options = await call("GET", `/options/${encodeURIComponent(state.bucket)}`);
  const opts = state.options;
  const filters = el("form", { class: "row", id: "filters", onsubmit: (ev) => { ev.preventDefault(); applyFilter(); } },
    el("label", {}, "Task or job ID", el("input", { id: "f-search", placeholder: "k… or j…" })),
    el("label", {}, "Status", el("select", { id: "f-status" }, ["", "Waiting", "In progress", "Completed"].map((s) => el("option", { value: s, text: s || "All" })))),
    el("label", {}, "Type", el("select", { id: "f-tag" }, el("option", { value: "", text: "All" }), opts.AllTags.map((t) => el("option", { value: t, text: t })))),
    el("label", {}, "Queue", el("select", { id: "f-queue" }, el("option", { value: "", text: "All" }), opts.Queues.map((x) => el("option", { value: x.Id, text: x.Name })))),
    el("label", {}, "Created from", el("input", { id: "f-from", type: "datetime-local" })),
    el("label", {}, "to", el("input", { id: "f-to", type: "datetime-local" })),
    el("button", { type: "submit", id: "f-apply", text: "Search" }));
  const bulk = el("div", { class: "row" },
    el("button", { type: "button", id: "bulk-end", text: "End selected", onclick: () => bulkAction("end", false) }),
    el("button", { type: "button", id: "bulk-restart", text: "Restart selected", onclick: () => bulkAction("restart", false) }),
    el("button", { type: "button", id: "bulk-end-all", text: "End all filtered", onclick: () => bulkAction("end", true) }),
    el("button", { type: "button", id: "bulk-restart-all", text: "Restart all filtered", onclick: () => bulkAction("restart", true) }),
    el("span", { class: "muted", id: "timing" }));
  const table = el("div", { class: "table-wrap" }, el("table", { id: "tasks" },
    el("thead", {}, el("tr", {}, el("th", {}, el("input", { type: "checkbox", id: "sel-all", "aria-label": "Select all", onchange: (ev) => document.querySelectorAll(".sel").forEach((c) => { c.checked = ev.target.checked; }) })),
      ["Task ID", "Status", "Progress", "Type", "Creation time", "End time", "Operation"].map((h, i) => el("th", { class: i === 2 || i === 5 ? "opt" : null, text: h })))),
    el("tbody", {})));
  const pager = el("div", { class: "pager" },
    el("button", { type: "button", id: "prev", text: "‹ Newer", onclick: () => { if (state.page > 0) { state.page--; loadTasks(); } } }),
    el("span", { id: "pageno" }),
    el("button", { type: "button", id: "next", text: "Older ›", onclick: () => { state.page++; loadTasks(); } }));
  $("#main").replaceChildren(
    el("section", { class: "card" }, el("h2", { text: "Jobs ended per minute, last hour" }), el("div", { id: "chart" })),
    el("section", { class: "card" }, el("h2", { text: "Queues" }), el("div", { id: "queues", class: "table-wrap" })),
    createForm(),
    el("section", { class: "card" }, el("h2", { text: "Tasks" }), filters, bulk, table, pager));
  state.cursors = [null]; state.page = 0; state.filter = {};
  state.refresh = () => { loadTasks(); };
  await Promise.all([loadTasks(), loadQueues(), loadChart()]);
}

function applyFilter() {
  const local = (id) => { const v = $(id).value; return v ? String(new Date(v).getTime() / 1000) : ""; };
  state.filter = { search: $("#f-search").value.trim(), status: $("#f-status").value, tag: $("#f-tag").value,
    queue: $("#f-queue").value, from: local("#f-from"), to: local("#f-to") };
  state.cursors = [null]; state.page = 0; loadTasks();
}

async function loadTasks() {
  const before = state.cursors[state.page];
  const data = await call("GET", `/tasks?${q({ bucket: state.bucket, ...state.filter, before })}`);
  state.cursors[state.page + 1] = data.Next;
  state.rows = data.Tasks;
  state.busy = data.Tasks.some((t) => t.Status !== "Completed");
  const checked = new Set([...document.querySelectorAll(".sel:checked")].map((c) => c.value));
  $("#tasks tbody").replaceChildren(...data.Tasks.map((t) => taskRow(t, checked.has(t.TaskId))));
  if (!data.Tasks.length) $("#tasks tbody").append(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No tasks match." })));
  $("#prev").disabled = state.page === 0; $("#next").disabled = data.Next === null;
  $("#pageno").textContent = `page ${state.page + 1}`;
  $("#timing").textContent = `${data.Scanned} scanned in ${data.Ms} ms`;
  document.body.dataset.loaded = String(Date.now());
}

function taskRow(t, checked) {
  const ops = el("td", { class: "ops" },
    el("a", { href: `/console/tasks/${encodeURIComponent(state.bucket)}/${t.TaskId}`, text: "Details", class: "details" }),
    el("button", { type: "button", class: "restart", text: "Restart", disabled: t.Status !== "Completed", onclick: () => act(t.TaskId, "restart") }),
    el("button", { type: "button", class: "end", text: "End", disabled: t.Status !== "Waiting", onclick: () => act(t.TaskId, "end") }),
    t.Input ? el("button", { type: "button", class: "play-source", text: "Play source video", onclick: () => playInline(t.Input, "video") }) : null);
  return el("tr", { "data-task": t.TaskId, "data-status": t.Status },
    el("td", {}, el("input", { type: "checkbox", class: "sel", value: t.TaskId, checked, "aria-label": "Select " + t.TaskId })),
    el("td", { class: "mono" }, t.TaskId, el("div", { class: "muted", text: `${t.Kind} · ${t.Subtasks} subtask(s)` })),
    el("td", { class: `status s-${t.Status.replace(" ", "-")}`, text: t.Status }),
    el("td", { class: "opt" }, el("span", { class: "bar" }, el("i", { style: `width:${t.Progress}%` })), ` ${t.Progress}%`),
    el("td", { text: t.Tags.join(", ") }), el("td", { text: fmt(t.Created) }), el("td", { class: "opt", text: fmt(t.Ended) }), ops);
}

async function act(taskId, action) {
  try {
    const row = await call("POST", `/tasks/${encodeURIComponent(state.bucket)}/${taskId}/${action}`);
    toast(action === "restart" ? `Restarted as ${row.TaskId}` : `Ended ${taskId}`);
    if (state.refresh) state.refresh();
    return row;
  } catch (e) { toast(e.message); return null; }
}

async function bulkAction(action, all) {
  const ids = [...document.querySelectorAll(".sel:checked")].map((c) => c.value);
  if (!all && !ids.length) return toast("Select tasks first");
  if (all && !confirm(`${action === "end" ? "End" : "Restart"} every task matching the filter (up to 500)?`)) return;
  const r = await call("POST", `/bulk/${encodeURIComponent(state.bucket)}`, all ? { action, all: true, filter: state.filter } : { action, ids });
  const failed = Object.values(r.Results).filter((v) => v).length;
  toast(`${action}: ${Object.keys(r.Results).length - failed} done, ${failed} refused`);
  document.querySelectorAll(".sel, #sel-all").forEach((c) => { c.checked = false; });
  loadTasks();
}

async function loadQueues() {
  const data = await call("GET", `/queues/${encodeURIComponent(state.bucket)}`);
  $("#queues").replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, ["Queue", "State", "Running", "MaxConcurrent", ""].map((h) => el("th", { text: h })))),
    el("tbody", {}, data.Queues.map((x) => el("tr", { "data-queue": x.Id, "data-name": x.Name },
      el("td", {}, x.Name, el("div", { class: "muted mono", text: x.Id })), el("td", { class: "qstate", text: x.State }), el("td", { text: x.Running }),
      el("td", {}, el("input", { type: "number", min: 1, max: 1000, value: x.MaxConcurrent, class: "qmax", style: "width:80px",
        onchange: (ev) => queueChange(x.Id, { maxConcurrent: Number(ev.target.value) }) })),
      el("td", { class: "ops" }, el("button", { type: "button", class: "qtoggle", text: x.State === "Active" ? "Pause" : "Resume",
        onclick: () => queueChange(x.Id, { state: x.State === "Active" ? "Paused" : "Active" }) })))))));
}
async function queueChange(id, body) {
  try { await call("POST", `/queues/${encodeURIComponent(state.bucket)}/${id}`, body); } catch (e) { toast(e.message); }
  loadQueues();
}
async function loadChart() {
  $("#chart").innerHTML = await call("GET", `/chart/${encodeURIComponent(state.bucket)}`);  // our own SVG, same origin
}

// --- create a task ----------------------------------------------------------------------------
function createForm() {
  const opts = state.options;
  const templates = () => { const s = $("#c-template"); s.replaceChildren(el("option", { value: "", text: "Custom parameters (below)" }),
    ...(opts.Templates[$("#c-tag").value] || []).map((t) => el("option", { value: t.Id, text: `${t.Name} (${t.Id})` }))); };
  const form = el("form", { id: "create", onsubmit: async (ev) => {
    ev.preventDefault();
    let parameters = null;
    const text = $("#c-params").value.trim();
    if (!$("#c-template").value && text) { try { parameters = JSON.parse(text); } catch (e) { return toast("Parameters: " + e.message); } }
    try {
      const r = await call("POST", `/tasks/${encodeURIComponent(state.bucket)}`, { tag: $("#c-tag").value, input: $("#c-input").value,
        template: $("#c-template").value, parameters, output: $("#c-output").value, sprite: $("#c-sprite").value, queue: $("#c-queue").value });
      toast(`Created ${r.TaskId}`); $("#created").textContent = r.TaskId; loadTasks();
    } catch (e) { toast(e.message); }
  } },
  el("div", { class: "row" },
    el("label", {}, "Input object", el("select", { id: "c-input" })),
    el("label", {}, "or upload", el("input", { type: "file", id: "c-file", onchange: upload })),
    el("label", {}, "Type", el("select", { id: "c-tag", onchange: templates }, opts.Tags.map((t) => el("option", { value: t, text: t })))),
    el("label", {}, "Template", el("select", { id: "c-template" })),
    el("label", {}, "Queue", el("select", { id: "c-queue" }, opts.Queues.map((x) => el("option", { value: x.Id, text: x.Name })))),
    el("label", {}, "Output path", el("input", { id: "c-output", placeholder: "output/${InputName}.mp4", value: "console/out/${InputName}.mp4" })),
    el("label", {}, "Sprite path (Snapshot)", el("input", { id: "c-sprite", placeholder: "console/sprite-${Number}.jpg" }))),
  el("label", { class: "muted" }, "Custom parameters (JSON, the Operation's container, e.g. {\"Container\":{\"Format\":\"mp4\"}})",
    el("textarea", { id: "c-params" })),
  el("div", { class: "row" }, el("button", { class: "primary", type: "submit", id: "c-submit", text: "Create task" }), el("span", { id: "created", class: "mono" })));
  setTimeout(() => { templates(); loadInputs(); }, 0);
  return el("section", { class: "card" }, el("details", { id: "create-box" }, el("summary", {}, el("strong", { text: "Create task" })), form));
}
async function loadInputs(select) {
  const data = await call("GET", `/objects/${encodeURIComponent(state.bucket)}`);
  const media = data.Objects.filter((o) => ["video", "audio"].includes(o.Kind));
  $("#c-input").replaceChildren(...media.map((o) => el("option", { value: o.Key, text: `${o.Key} (${o.Size} B)` })));
  if (select) $("#c-input").value = select;
}
async function upload(ev) {
  const file = ev.target.files[0]; if (!file) return;
  const key = "console/uploads/" + file.name;
  await call("PUT", `/objects/${encodeURIComponent(state.bucket)}?${q({ key })}`, file, true);
  toast(`Uploaded ${key}`); loadInputs(key);
}

// --- task details -----------------------------------------------------------------------------
async function detailView(taskId) {
  state.refresh = () => renderDetail(taskId);
  await renderDetail(taskId);
}
async function renderDetail(taskId) {
  const t = await call("GET", `/tasks/${encodeURIComponent(state.bucket)}/${taskId}`);
  state.busy = t.Status !== "Completed" || t.SubtaskList.some((s) => (s.Callbacks || []).some((c) => c.State === "Waiting" || c.State === "Retrying"));
  const open = new Set([...document.querySelectorAll("tr.sub-detail")].map((r) => r.dataset.for));
  const rows = [];
  for (const s of t.SubtaskList) {
    rows.push(subRow(t, s));
    if (open.has(String(s.No))) rows.push(subDetail(s));
  }
  const head = el("section", { class: "card", id: "task-head", "data-status": t.Status },
    el("h2", {}, "Task ", el("span", { class: "mono", text: t.TaskId })),
    el("p", {}, el("span", { class: `status s-${t.Status.replace(" ", "-")}`, id: "task-status", text: t.Status }),
      ` · ${t.Kind} · created ${fmt(t.Created)} · ended ${fmt(t.Ended)} · ${t.Done}/${t.Subtasks} done`,
      t.Detail && t.Detail.RestartOf ? el("span", {}, " · restart of ", el("a", { href: `/console/tasks/${encodeURIComponent(state.bucket)}/${t.Detail.RestartOf}`, text: t.Detail.RestartOf })) : null),
    el("div", { class: "row" }, el("a", { href: "/console/", text: "‹ All tasks" }),
      el("button", { type: "button", class: "restart", text: "Restart", disabled: t.Status !== "Completed", onclick: async () => { const r = await act(t.TaskId, "restart"); if (r) location.href = `/console/tasks/${encodeURIComponent(state.bucket)}/${r.TaskId}`; } }),
      el("button", { type: "button", class: "end", text: "End", disabled: t.Status !== "Waiting", onclick: () => act(t.TaskId, "end") }),
      t.Input ? el("button", { type: "button", class: "play-source", text: "Play source video", onclick: () => playInline(t.Input, "video") }) : null));
  const table = el("div", { class: "table-wrap" }, el("table", { id: "subtasks" }, el("thead", {}, el("tr", {},
    ["No.", "Status", "Type", "Start time", "End time", "Output", "Operation"].map((h, i) => el("th", { class: i === 3 ? "opt" : null, text: h })))), el("tbody", {}, rows)));
  let player = $("#player");
  if (!player) player = el("section", { class: "card player", id: "player" });
  $("#main").replaceChildren(head, el("section", { class: "card" }, el("h2", { text: "Subtasks" }), table), player);
  document.body.dataset.loaded = String(Date.now());
}
function subRow(t, s) {
  const outs = s.Outputs.filter((o) => o.Role !== "segment");
  const first = outs[0];
  const images = outs.filter((o) => o.Kind === "image");
  const ops = el("td", { class: "ops" },
    el("button", { type: "button", class: "sub-details", text: "Details", onclick: (ev) => {
      const tr = ev.target.closest("tr"); const next = tr.nextElementSibling;
      if (next && next.classList.contains("sub-detail")) next.remove(); else tr.after(subDetail(s)); } }),
    first ? el("button", { type: "button", class: "view", text: "Play/View", onclick: () => view(s) }) : null,
    first ? el("a", { class: "download", href: obj(first.Key, { download: 1 }), text: "Download" }) : null,
    images.length > 1 ? el("a", { class: "zip", href: `${API}/zip/${encodeURIComponent(state.bucket)}?${q({ job: s.JobId })}`, text: `Download all (${images.length}) as zip` }) : null,
    first && (first.Kind === "hls" || first.Kind === "dash") ? el("a", { class: "zip package", href: `${API}/zip/${encodeURIComponent(state.bucket)}?${q({ package: first.Key, name: first.Key.split("/").pop().replace(/\.[^.]*$/, "") + ".zip" })}`, text: "Download with segments (zip)" }) : null);
  return el("tr", { "data-sub": s.No, "data-status": s.Status },
    el("td", { text: s.No }), el("td", { class: `status s-${s.Status.replace(" ", "-")}` }, s.Status,
      s.Status === "In progress" ? el("span", {}, " ", el("span", { class: "bar" }, el("i", { style: `width:${s.Progress}%` })), ` ${s.Progress}%`) : null),
    el("td", { text: s.Type }), el("td", { class: "opt", text: fmt(s.Started) }), el("td", { text: fmt(s.Ended) }),
    el("td", { class: "mono", text: first ? first.Key + (outs.length > 1 ? ` (+${outs.length - 1})` : "") : "-" }), ops);
}
function subDetail(s) {
  const box = el("td", { colspan: 7 },
    el("p", {}, `Job ${s.JobId} · queue ${s.Queue} · attempts ${s.Attempts} · code ${s.Code}`),
    s.Message ? el("div", {}, el("h3", { text: "Message" }), el("pre", { class: "message", text: s.Message })) : null,
    s.Score !== null && s.Score !== undefined ? el("p", {}, `Quality score: ${JSON.stringify(s.Score)}`) : null,
    s.Data ? el("div", {}, el("h3", { text: "Result data" }), el("pre", { text: JSON.stringify(s.Data, null, 2) })) : null,
    el("h3", { text: "Parameters and result (as DescribeMediaJob shows them)" }), el("pre", { text: JSON.stringify(s.Detail, null, 2) }),
    s.Input ? el("button", { type: "button", text: "MediaInfo of the input", onclick: async (ev) => {
      try { ev.target.after(el("pre", { class: "mediainfo", text: JSON.stringify(await call("GET", `/mediainfo/${encodeURIComponent(state.bucket)}?${q({ key: s.Input })}`), null, 2) })); } catch (e) { toast(e.message); } } }) : null,
    callbackTable(s));
  return el("tr", { class: "sub-detail", "data-for": s.No }, box);
}
function callbackTable(s) {
  const cbs = s.Callbacks || [];
  if (!cbs.length) return el("p", { class: "muted callbacks-none", text: "Callbacks: none for this subtask." });
  const when = (c) => c.DeliveredAt ? `delivered ${fmt(c.DeliveredAt)}` : c.DeadAt ? `dead since ${fmt(c.DeadAt)}` : c.NextAt ? `next attempt ${fmt(c.NextAt)}` : "-";
  return el("div", {}, el("h3", { text: "Callbacks" }), el("div", { class: "table-wrap" }, el("table", { class: "callbacks" },
    el("thead", {}, el("tr", {}, ["Target", "Attempts", "State", "Last error", "When", ""].map((h) => el("th", { text: h })))),
    el("tbody", {}, cbs.map((c) => el("tr", { "data-callback": c.Id, "data-state": c.State },
      el("td", { class: "mono cb-target", text: `${c.Type === "Url" ? "" : c.Type + " "}${c.Target}${c.Format ? " (" + c.Format + ")" : ""}` }),
      el("td", { class: "cb-attempts", text: c.Attempts }), el("td", { class: "cb-state", text: c.State }),
      el("td", { class: "cb-error", text: c.LastError || "-" }), el("td", { text: when(c) }),
      el("td", {}, c.State === "Dead letter" ? el("button", { type: "button", class: "cb-resend", text: "Resend", onclick: async () => {
        try { await call("POST", `/callbacks/${encodeURIComponent(state.bucket)}/${s.JobId}/${c.Id}/resend`); toast(`Callback ${c.Id} queued again`); if (state.refresh) state.refresh(); } catch (e) { toast(e.message); } } }) : null)))))));
}
function view(s) {
  const outs = s.Outputs.filter((o) => o.Role !== "segment");
  const player = $("#player");
  const images = outs.filter((o) => o.Kind === "image");
  const media = outs.find((o) => ["video", "audio", "hls", "dash"].includes(o.Kind));
  player.replaceChildren(el("h2", { text: `Subtask ${s.No}: ${s.Type}` }));
  if (media) player.append(mediaElement(media.Key, media.Kind));
  if (images.length) player.append(el("div", { class: "gallery" }, images.map((o) => el("figure", {}, el("img", { src: obj(o.Key), alt: o.Key, "data-role": o.Role }), el("figcaption", { class: "muted mono", text: `${o.Role}: ${o.Key}` })))));
  const others = outs.filter((o) => !["image", "video", "audio", "hls", "dash"].includes(o.Kind));
  for (const o of others) player.append(el("p", {}, el("a", { href: obj(o.Key), text: o.Key })));
  if (s.Data) player.append(el("pre", { text: JSON.stringify(s.Data, null, 2) }));
  player.scrollIntoView({ block: "nearest" });
}
function mediaElement(key, kind) {
  const remuxed = kind === "hls" || kind === "dash";
  const src = remuxed ? `${API}/play/${encodeURIComponent(state.bucket)}?${q({ key })}` : obj(key);
  const audio = kind === "audio";
  return el(audio ? "audio" : "video", { src, controls: true, preload: "metadata", id: "media", "data-key": key,
    "data-kind": kind, title: remuxed ? `${kind.toUpperCase()} remuxed to MP4 by the server` : key });
}
function playInline(key, kind) {
  let player = $("#player");
  if (!player) { player = el("section", { class: "card player", id: "player" }); $("#main").prepend(player); }
  player.replaceChildren(el("h2", { text: `Source: ${key}` }), mediaElement(key, kind));
}

document.addEventListener("DOMContentLoaded", () => {
  $("#signout").addEventListener("click", async () => { await call("POST", "/signout"); state.me = null; location.href = "/console/"; });
  $("#bucket").addEventListener("change", (ev) => { state.bucket = ev.target.value; sessionStorage.setItem("bucket", state.bucket); location.href = "/console/"; });
  start().catch((e) => toast(e.message));
});

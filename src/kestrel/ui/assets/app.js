// kestrel ui: the single-page application (hand-written, no framework, no third-party code).
// Every text that comes from events, alerts or rules is inserted with textContent or
// createTextNode, never as HTML; attributes are set with setAttribute (never `on*`/`style`), and
// links are built from encodeURIComponent'd ids only. Routes: #/alerts, #/alert/<id>,
// #/tree/<key>, #/hunt?q=..., #/rules.
"use strict";

(function () {
  // ---- token: taken from ?token= once, kept in sessionStorage, removed from the address bar ----
  const params = new URLSearchParams(window.location.search);
  if (params.has("token")) {
    sessionStorage.setItem("kestrel-token", params.get("token"));
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : "") +
      window.location.hash);
  }
  const token = sessionStorage.getItem("kestrel-token");

  function api(path) {
    const headers = {};
    if (token) headers["Authorization"] = "Bearer " + token;
    return fetch(path, { headers: headers, credentials: "omit" }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          const e = new Error((body && body.error) || ("HTTP " + res.status));
          e.status = res.status;
          throw e;
        }
        return body;
      });
    });
  }

  // ---- DOM helpers: text only ----
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        if (attrs[k] === undefined || attrs[k] === null) continue;
        if (k === "text") node.textContent = String(attrs[k]);
        else if (k === "class") node.className = attrs[k];
        else if (/^on|^style$/i.test(k)) throw new Error("refused attribute " + k);
        else node.setAttribute(k, String(attrs[k]));
      }
    }
    for (const c of children || []) {
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }
  function svg(tag, attrs, children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const k of Object.keys(attrs || {})) {
      if (k === "text") node.textContent = String(attrs[k]);
      else if (/^on|^style$/i.test(k)) throw new Error("refused attribute " + k);
      else node.setAttribute(k, String(attrs[k]));
    }
    for (const c of children || []) node.appendChild(c);
    return node;
  }
  const main = document.getElementById("main");
  const status = document.getElementById("status");
  function show(nodes) {
    main.replaceChildren.apply(main, nodes);
  }
  function ready(text) {
    status.textContent = text || "";
    status.setAttribute("data-ready", "1");
  }
  function failed(err) {
    show([el("p", { class: "error", id: "view-error", text: String(err.message || err) })]);
    ready("error");
  }
  function timeText(ns) {
    if (ns === null || ns === undefined) return "";
    const ms = Math.floor(Number(ns) / 1e6);
    const d = new Date(ms);
    return isNaN(d.getTime()) ? String(ns) : d.toISOString();
  }
  function get(obj, path) {
    if (!obj) return undefined;
    if (Object.prototype.hasOwnProperty.call(obj, path)) return obj[path];
    let at = obj;
    for (const p of path.split(".")) {
      if (at === null || typeof at !== "object" || !(p in at)) return undefined;
      at = at[p];
    }
    return at;
  }
  function first(obj, paths) {
    for (const p of paths) {
      const v = get(obj, p);
      if (v !== undefined && v !== null && v !== "") return v;
    }
    return undefined;
  }
  // The process key of an event's fields, as the server's index makes it (ui/index.h).
  function processKey(f) {
    const host = first(f, ["host.name", "hostname"]) || "";
    const eid = get(f, "process.entity_id");
    if (typeof eid === "string" && eid !== "") return eid;
    const upid = get(f, "unique_pid");
    if (upid !== undefined && upid !== null) return host + ":" + upid;
    const pid = first(f, ["process.pid", "pid"]);
    if (pid === undefined) return "";
    const start = get(f, "process.start");
    return host + ":pid:" + pid + (start ? "@" + start : "");
  }
  function summary(f) {
    return first(f, ["process.command_line", "command_line", "file.path", "file_path",
      "destination.ip", "dns.question.name", "process.executable", "process_path"]) || "";
  }
  function category(f) {
    const c = first(f, ["event.category", "event_type"]);
    return Array.isArray(c) ? c.join(",") : (c || "");
  }
  function procLink(f) {
    const key = processKey(f);
    const name = first(f, ["process.name", "process_name"]) || key;
    if (!key) return el("span", { text: name });
    return el("a", { class: "proc", href: "#/tree/" + encodeURIComponent(key),
      "data-entity-id": key, text: name });
  }
  function setNav(name) {
    for (const n of ["alerts", "hunt", "rules"]) {
      document.getElementById("nav-" + n).className = n === name ? "active" : "";
    }
  }

  // ---- live updates: one EventSource for the page ----
  const listeners = { alert: [], rules: [] };
  let stream = null;
  // The stream opens a few seconds after the first view asks for it: a page that just loaded
  // (and a headless browser dumping it) is not held open by a request that never ends.
  let streamTimer = null;
  function listen(kind, fn) {
    listeners[kind].push(fn);
    if (stream || streamTimer) return;
    streamTimer = setTimeout(openStream, 5000);
  }
  function openStream() {
    let url = "api/stream";
    if (token) url += "?token=" + encodeURIComponent(token);
    stream = new EventSource(url);
    for (const k of ["alert", "rules"]) {
      stream.addEventListener(k, function (ev) {
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        for (const f of listeners[k]) f(data);
      });
    }
  }
  function clearListeners() {
    listeners.alert = [];
    listeners.rules = [];
  }

  // ---- #/alerts ----
  function alertRow(a) {
    const tr = el("tr", { class: "alert-row", "data-alert-id": a.id, "data-rule-id": a.rule_id }, [
      el("td", { text: timeText(a.timestamp_ns) }),
      el("td", { class: "sev sev-" + String(a.severity).replace(/[^a-z]/g, ""), text: a.severity }),
      el("td", { class: "rule", text: a.rule_name || a.rule_id }),
      el("td", { text: a.host }),
      el("td", { text: (a.tactics || []).join(", ") }),
      el("td", { class: "cmd", text: a.message || a.title }),
    ]);
    tr.addEventListener("click", function () {
      location.hash = "#/alert/" + encodeURIComponent(a.id);
    });
    return tr;
  }
  function histogram(h) {
    const width = 640, rowH = 18, label = 220;
    const rules = h.rules || [];
    const root = svg("svg", { class: "histogram", id: "histogram", width: width,
      height: Math.max(1, rules.length) * rowH + 28, role: "img" });
    const bw = (width - label - 50) / Math.max(1, h.buckets);
    rules.forEach(function (r, i) {
      const y = 8 + i * rowH;
      // Each rule's bars are scaled to its own busiest bucket (its total is at the right).
      let max = 1;
      for (const c of r.counts) max = Math.max(max, c);
      const g = svg("g", { class: "hist-rule", "data-rule-id": r.rule_id });
      g.appendChild(svg("text", { x: 4, y: y + 12, text: r.rule_id }));
      r.counts.forEach(function (c, b) {
        if (!c) return;
        const hgt = Math.max(2, (rowH - 4) * c / max);
        g.appendChild(svg("rect", { class: "bar", x: label + b * bw, y: y + (rowH - 4 - hgt),
          width: Math.max(1, bw - 1), height: hgt }, [svg("title", { text: c + " alerts" })]));
      });
      g.appendChild(svg("text", { x: width - 44, y: y + 12, text: String(r.total) }));
      root.appendChild(g);
    });
    const axisY = 8 + rules.length * rowH + 14;
    root.appendChild(svg("text", { x: label, y: axisY, text: timeText(h.from_ns) }));
    root.appendChild(svg("text", { x: width - 50, y: axisY, "text-anchor": "end",
      text: timeText(h.to_ns) }));
    return root;
  }
  function viewAlerts(query) {
    setNav("alerts");
    const q = new URLSearchParams(query);
    const fields = ["rule", "severity", "host", "tactic"];
    let path = "api/alerts?buckets=24";
    for (const k of fields.concat(["from", "to"])) {
      if (q.get(k)) path += "&" + k + "=" + encodeURIComponent(q.get(k));
    }
    return api(path).then(function (d) {
      const filters = el("div", { class: "filters", id: "alert-filters" });
      const inputs = {};
      for (const k of fields) {
        const s = el("select", { id: "filter-" + k }, [el("option", { value: "", text: "any" })]);
        for (const v of (d.values && d.values[k]) || []) {
          const o = el("option", { value: v, text: v });
          if (q.get(k) === v) o.selected = true;
          s.appendChild(o);
        }
        inputs[k] = s;
        filters.appendChild(el("label", null, [k, s]));
      }
      for (const k of ["from", "to"]) {
        const i = el("input", { id: "filter-" + k, placeholder: "2026-01-01T00:00:00Z",
          value: q.get(k) || "" });
        inputs[k] = i;
        filters.appendChild(el("label", null, [k, i]));
      }
      const apply = el("button", { id: "filter-apply", type: "button", text: "Filter" });
      apply.addEventListener("click", function () {
        const p = new URLSearchParams();
        for (const k of Object.keys(inputs)) if (inputs[k].value) p.set(k, inputs[k].value);
        location.hash = "#/alerts" + (p.toString() ? "?" + p.toString() : "");
      });
      filters.appendChild(apply);
      const tbody = el("tbody");
      for (const a of d.alerts) tbody.appendChild(alertRow(a));
      const table = el("table", { id: "alerts-table" }, [
        el("thead", null, [el("tr", null, ["time", "severity", "rule", "host", "tactics",
          "message"].map(function (t) { return el("th", { text: t }); }))]), tbody]);
      const count = el("p", { class: "muted", id: "alert-count",
        text: d.total + " alerts" + (d.total > d.alerts.length ? " (newest " + d.alerts.length +
          " shown)" : "") });
      show([el("h1", { text: "Alerts" }), filters,
        el("h2", { text: "Alerts per rule over time" }), histogram(d.histogram), count, table]);
      listen("alert", function (a) {
        if (!document.getElementById("alerts-table")) return;
        tbody.insertBefore(alertRow(a), tbody.firstChild);
      });
      ready("alerts");
    });
  }

  // ---- process tree ----
  function nodeItem(n, focusKey) {
    const classes = ["tree-node"];
    if (n.evidence) classes.push("evidence");
    if (n.key === focusKey) classes.push("focus");
    const li = el("li", { class: classes.join(" "), "data-entity-id": n.key,
      "data-parent": n.parent || "", "data-pid": n.pid === null ? "" : n.pid });
    const kids = n.children || [];
    const toggle = el("button", { class: "toggle", type: "button", "aria-label": "expand",
      text: kids.length ? "▾" : "·" });
    toggle.addEventListener("click", function (ev) {
      ev.stopPropagation();
      li.classList.toggle("collapsed");
      toggle.textContent = li.classList.contains("collapsed") ? "▸" : "▾";
    });
    const box = el("span", { class: "node", title: n.executable || "" }, [
      toggle,
      el("a", { class: "node-name", href: "#/tree/" + encodeURIComponent(n.key),
        text: n.name || "(unknown)" }),
      el("span", { class: "node-pid", text: n.pid === null ? "" : "pid " + n.pid }),
      el("span", { class: "node-user", text: n.user || "" }),
      el("span", { class: "node-cmd", text: n.command_line || "" }),
    ]);
    li.appendChild(box);
    if (kids.length || n.children_hidden) {
      const ul = el("ul");
      for (const c of kids) ul.appendChild(nodeItem(c, focusKey));
      if (n.children_hidden) {
        ul.appendChild(el("li", { class: "more" }, [el("a", {
          href: "#/tree/" + encodeURIComponent(n.key), text: "… " + n.children_hidden +
            " more children" })]));
      }
      li.appendChild(ul);
    }
    return li;
  }
  // Ancestors (nearest first) above the node, the node's descendants below it.
  function treeDom(t) {
    let inner = nodeItem(t.root, t.root.key);
    for (const a of t.ancestors) {
      a.children = [];
      const li = nodeItem(a, t.root.key);
      li.querySelector(".toggle").textContent = "▾";
      const ul = el("ul");
      ul.appendChild(inner);
      li.appendChild(ul);
      inner = li;
    }
    return el("ul", { class: "tree", id: "process-tree" }, [inner]);
  }
  function viewTree(key) {
    setNav("");
    return api("api/tree?depth=8&width=50&key=" + encodeURIComponent(key)).then(function (t) {
      show([el("h1", { text: "Process " + (t.root.name || key) }),
        el("p", { class: "muted", text: "key " + key + " · host " + t.root.host + " · " +
          t.root.events + " events" }), treeDom(t)]);
      ready("tree");
    });
  }

  // ---- #/alert/<id> ----
  function eventsTable(id, rows, rowClass) {
    const tbody = el("tbody");
    for (const r of rows) {
      const f = r.fields;
      tbody.appendChild(el("tr", { class: rowClass, "data-entity-id": processKey(f) }, [
        el("td", { text: timeText(r.timestamp_ns) }),
        el("td", { text: category(f) }),
        el("td", { text: first(f, ["event.action", "event_subtype_full"]) || "" }),
        el("td", null, [procLink(f)]),
        el("td", { text: first(f, ["process.pid", "pid"]) === undefined ? "" :
          String(first(f, ["process.pid", "pid"])) }),
        el("td", { text: first(f, ["user.name", "user_name"]) || "" }),
        el("td", { class: "cmd", text: summary(f) }),
      ]));
    }
    return el("table", { id: id }, [el("thead", null, [el("tr", null,
      ["time", "category", "action", "process", "pid", "user", "detail"].map(function (t) {
        return el("th", { text: t });
      }))]), tbody]);
  }
  function timeline(events) {
    const width = 640, height = 40;
    const root = svg("svg", { class: "timeline", id: "evidence-timeline", width: width,
      height: height });
    if (!events.length) return root;
    const t0 = Number(events[0].timestamp_ns), t1 = Number(events[events.length - 1].timestamp_ns);
    const span = Math.max(1, t1 - t0);
    root.appendChild(svg("line", { x1: 10, y1: 20, x2: width - 10, y2: 20 }));
    events.forEach(function (e, i) {
      const x = 10 + (width - 20) * (Number(e.timestamp_ns) - t0) / span;
      root.appendChild(svg("circle", { cx: x, cy: 20, r: 5, "data-index": i }, [
        svg("title", { text: timeText(e.timestamp_ns) + " " + category(e.fields) })]));
    });
    root.appendChild(svg("text", { x: 10, y: 38, text: timeText(t0) }));
    return root;
  }
  function viewAlert(id) {
    setNav("alerts");
    return api("api/alert/" + encodeURIComponent(id)).then(function (d) {
      const a = d.alert || {};
      const rule = a.rule || {};
      const meta = el("dl", { class: "meta", id: "rule-meta" });
      function row(k, v) {
        if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) return;
        meta.appendChild(el("dt", { text: k }));
        meta.appendChild(el("dd", { text: Array.isArray(v) ? v.join(", ") : String(v) }));
      }
      row("rule id", d.rule_id);
      row("severity", d.severity);
      row("time", timeText(d.timestamp_ns));
      row("host", d.host);
      row("description", rule.description);
      row("tactics", d.tactics);
      row("techniques", (rule.threat || []).flatMap(function (t) {
        return (t.technique || []).map(function (x) { return (x.id || "") + " " + (x.name || ""); });
      }));
      row("tags", rule.tags);
      row("references", rule.references);
      row("rule file", rule.file);
      row("entity", a.context && a.context.entity_key);
      row("alert file", "alerts file " + d.file + ", line " + d.line);
      const evidence = (a.events || []).map(function (e) {
        return { timestamp_ns: e.timestamp_ns, fields: e.fields || {} };
      });
      const flight = (d.flight || []).map(function (e) {
        return { timestamp_ns: e.timestamp_ns, fields: e.event || {} };
      });
      const nodes = [
        el("h1", { id: "alert-title", text: d.title || d.rule_name || d.rule_id }),
        el("p", { class: "cmd", id: "alert-message", text: d.message || "" }), meta,
        el("h2", { text: "Rule" }),
        el("pre", { id: "rule-text", text: d.rule_text ||
          "(rule text not loaded: start kestrel ui with --rules)" }),
        el("h2", { text: "Evidence" }), timeline(evidence),
        eventsTable("evidence-table", evidence, "evidence-row"),
        el("h2", { text: "Process tree" }),
      ];
      const treeHolder = el("div", { id: "tree-holder" });
      nodes.push(treeHolder);
      nodes.push(el("h2", { text: "Before the alert (" + (d.flight_window_ns / 6e10) +
        " min, the alert's processes and their ancestors, from the logs)" }));
      nodes.push(flight.length ? eventsTable("flight-table", flight, "flight-row") :
        el("p", { class: "muted", id: "flight-empty", text: "the loaded logs hold no events of " +
          "these processes before the alert" }));
      show(nodes);
      const key = (d.evidence || [])[0];
      if (!key) {
        treeHolder.appendChild(el("p", { class: "muted", text: "the evidence names no process" }));
        ready("alert");
        return;
      }
      // Rooted at the evidence process's parent: its siblings show too (what else the parent
      // started), the evidence highlighted.
      const treeOf = function (k) {
        return api("api/tree?depth=6&width=50&key=" + encodeURIComponent(k) + "&alert=" +
          encodeURIComponent(id));
      };
      return treeOf(key).then(function (t) {
        return t.ancestors.length ? treeOf(t.ancestors[0].key) : t;
      }).then(function (t) {
        const dom = treeDom(t);
        const focus = dom.querySelector("li.focus");
        if (focus) focus.classList.remove("focus");
        treeHolder.appendChild(dom);
        ready("alert");
      }, function (e) {
        treeHolder.appendChild(el("p", { class: "error", text: e.message }));
        ready("alert");
      });
    });
  }

  // ---- #/hunt?q= ----
  function huntRow(e, seq) {
    const f = e._source || {};
    return el("tr", { class: "hunt-row", "data-entity-id": processKey(f), "data-id": e._id,
      "data-sequence": seq === undefined ? "" : seq }, [
      el("td", { text: e.missing ? "(missing)" : (f["@timestamp"] || "") }),
      el("td", { text: category(f) }),
      el("td", { text: first(f, ["event.action", "event_subtype_full"]) || "" }),
      el("td", null, [e.missing ? el("span", { text: "" }) : procLink(f)]),
      el("td", { class: "cmd", text: summary(f) }),
    ]);
  }
  function huntTable(events, seq) {
    const tbody = el("tbody");
    for (const e of events) tbody.appendChild(huntRow(e, seq));
    return el("table", { class: "hunt-results" }, [el("thead", null, [el("tr", null,
      ["@timestamp", "category", "action", "process", "detail"].map(function (t) {
        return el("th", { text: t });
      }))]), tbody]);
  }
  function viewHunt(query) {
    setNav("hunt");
    const q = new URLSearchParams(query).get("q") || "";
    const box = el("textarea", { id: "hunt-query", spellcheck: "false",
      placeholder: "process where process.name == \"curl\"" });
    box.value = q;
    const run = el("button", { id: "hunt-run", type: "button", text: "Run" });
    run.addEventListener("click", function () {
      location.hash = "#/hunt?q=" + encodeURIComponent(box.value);
    });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) run.click();
    });
    const out = el("div", { id: "hunt-output" });
    show([el("h1", { text: "Hunt" }), box, run, out]);
    if (!q) {
      ready("hunt");
      return Promise.resolve();
    }
    out.appendChild(el("p", { class: "muted", text: "running…" }));
    return api("api/hunt?limit=1000&q=" + encodeURIComponent(q)).then(function (d) {
      const hits = d.hits || {};
      const parts = [el("p", { class: "muted", id: "hunt-count", text: hits.total.value +
        " results in " + d.took + " ms" + (d.is_partial ? " (partial: " +
        (d.timed_out ? "timed out" : "result cap") + ")" : "") })];
      if (hits.sequences) {
        const holder = el("div", { id: "hunt-results" });
        hits.sequences.forEach(function (s, i) {
          holder.appendChild(el("div", { class: "sequence", "data-sequence": i + 1,
            "data-join-keys": JSON.stringify(s.join_keys || []) }, [
            el("div", { class: "sequence-head", text: "sequence " + (i + 1) + "  join keys " +
              JSON.stringify(s.join_keys || []) }), huntTable(s.events || [], i + 1)]));
        });
        parts.push(holder);
      } else {
        const t = huntTable(hits.events || []);
        t.id = "hunt-results";
        parts.push(t);
      }
      out.replaceChildren.apply(out, parts);
      ready("hunt");
    }, function (e) {
      out.replaceChildren(el("p", { class: "error", id: "hunt-error", text: e.message }));
      ready("hunt");
    });
  }

  // ---- #/rules ----
  function viewRules() {
    setNav("rules");
    const tbody = el("tbody");
    const head = el("p", { class: "muted", id: "rules-summary" });
    const live = el("ul", { id: "live-alerts" }, [el("li", { class: "muted",
      text: "alerts appended to the --alerts files show here as they arrive" })]);
    function fill(d) {
      head.textContent = "attached to " + d.attach + " · rule set version " + d.rule_set_version +
        (d.loaded_at ? " (loaded " + d.loaded_at + ")" : "") + " · " + d.events + " events · " + d.alerts + " alerts · evaluation times sampled 1 in " +
        d.sample_interval;
      const rows = d.rules.slice().sort(function (a, b) { return b.eval_seconds - a.eval_seconds; });
      tbody.replaceChildren.apply(tbody, rows.map(function (r) {
        return el("tr", { class: "rule-row", "data-rule-id": r.rule_id }, [
          el("td", { text: r.rule_id }),
          el("td", { class: "rule-alerts", text: String(r.alerts) }),
          el("td", { text: String(r.suppressed) }),
          el("td", { class: "rule-evaluations", text: String(r.evaluations) }),
          el("td", { text: (r.eval_seconds * 1e3).toFixed(3) }),
          el("td", { text: r.mean_ns.toFixed(0) }),
          el("td", { text: String(r.partials) }),
        ]);
      }));
    }
    return api("api/rules").then(function (d) {
      show([el("h1", { text: "Rules" }), head, el("table", { id: "rules-table" }, [
        el("thead", null, [el("tr", null, ["rule", "alerts", "suppressed", "evaluations",
          "cost (ms)", "mean (ns)", "partials"].map(function (t) {
          return el("th", { text: t });
        }))]), tbody]), el("h2", { text: "Live alerts" }), live]);
      fill(d);
      listen("rules", fill);
      listen("alert", function (a) {
        live.insertBefore(el("li", { class: "live-alert", "data-alert-id": a.id }, [
          el("a", { href: "#/alert/" + encodeURIComponent(a.id), text: timeText(a.timestamp_ns) +
            " " + (a.rule_name || a.rule_id) + " — " + (a.message || "") })]), live.firstChild);
      });
      ready("rules");
    });
  }

  // ---- router ----
  function route() {
    status.setAttribute("data-ready", "0");
    clearListeners();
    const hash = location.hash || "#/alerts";
    const m = hash.match(/^#\/([a-z]+)(?:\/([^?]*))?(?:\?(.*))?$/);
    const name = m ? m[1] : "alerts";
    const arg = m && m[2] ? decodeURIComponent(m[2]) : "";
    const query = m && m[3] ? m[3] : "";
    let p;
    if (name === "alert" && arg) p = viewAlert(arg);
    else if (name === "tree" && arg) p = viewTree(arg);
    else if (name === "hunt") p = viewHunt(query);
    else if (name === "rules") p = viewRules();
    else p = viewAlerts(query);
    Promise.resolve(p).catch(failed);
  }
  window.addEventListener("hashchange", route);
  api("api/info").then(function (i) {
    const c = i.counters;
    document.getElementById("info").textContent = c.events_seen + " events · " + c.processes +
      " processes · " + c.alerts + " alerts" + (c.events_dropped ? " · " + c.events_dropped +
      " events past the cap" : "") + (i.attached ? " · attached" : "");
  }).catch(function () {});
  route();
})();

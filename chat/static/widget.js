/* OmniOps chat widget. Embed with one tag, no build step:
 *   <script src="https://gateway.example/v1/chat/widget.js" data-key="owk1...." async></script>
 * Dependency-free. Talks to /v1/chat/sessions, /v1/chat/messages, /v1/chat/consents/<id>, /v1/chat/events
 * with a short-lived bearer session token (never cookies). Live progress: SSE over fetch (so the token
 * travels in a header, not the URL), resuming with Last-Event-ID; falls back to polling ?poll=1.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[data-key][src*="widget.js"]');
  if (!script || window.__omniopsWidget) { return; }
  window.__omniopsWidget = true;
  var KEY = script.getAttribute("data-key") || "";
  var BASE = script.src.replace(/\/v1\/chat\/widget\.js(\?.*)?$/, "");
  var session = null;          // {token, logged_in}
  var lastEventId = null;
  var streaming = false;
  var failures = 0;
  var seenEvents = {};
  var root, panel, launcher, log, input, form, suggest, sendBtn;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  /* Text with web links made clickable (built with DOM nodes, never innerHTML). */
  function linkified(node, text) {
    String(text).split(/(https?:\/\/[^\s]+)/).forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = el("a", {"href": part, "target": "_blank", "rel": "noopener noreferrer",
                         "class": "omniops-link"}, part.length > 48 ? part.slice(0, 45) + "…" : part);
        node.appendChild(a);
      } else if (part) { node.appendChild(document.createTextNode(part)); }
    });
    return node;
  }

  /* ------------------------------------------------------------------ HTTP */
  function ensureSession() {
    if (session) { return Promise.resolve(session); }
    return fetch(BASE + "/v1/chat/sessions?key=" + encodeURIComponent(KEY), {
      method: "POST", headers: {"Content-Type": "application/json"}, body: "{}", credentials: "omit"
    }).then(function (r) {
      if (!r.ok) { throw new Error("session " + r.status); }
      return r.json();
    }).then(function (s) { session = s; return s; });
  }

  function api(method, path, body, retried) {
    return ensureSession().then(function (s) {
      var opts = {method: method, credentials: "omit",
                  headers: {"Authorization": "Bearer " + s.token, "Content-Type": "application/json"}};
      if (body !== undefined) { opts.body = JSON.stringify(body); }
      return fetch(BASE + path, opts);
    }).then(function (r) {
      if (r.status === 401 && !retried) { session = null; return api(method, path, body, true); }
      return r.json().then(function (data) {
        if (!r.ok) {
          var err = new Error(data.detail || ("HTTP " + r.status));
          err.status = r.status; throw err;
        }
        return data;
      });
    });
  }

  /* ------------------------------------------------------------------ UI */
  function build() {
    root = el("div", {"class": "omniops-widget", "data-omniops": "root"});
    launcher = el("button", {"type": "button", "class": "omniops-launcher", "aria-expanded": "false",
                             "aria-controls": "omniops-panel"}, "Chat with OmniOps");
    panel = el("section", {"id": "omniops-panel", "class": "omniops-panel", "role": "dialog",
                           "aria-label": "OmniOps assistant", "hidden": ""});
    var header = el("header", {"class": "omniops-header"});
    header.appendChild(el("h2", {"class": "omniops-title"}, "OmniOps assistant"));
    var close = el("button", {"type": "button", "class": "omniops-close", "aria-label": "Close chat"}, "\u00d7");
    header.appendChild(close);
    log = el("div", {"class": "omniops-log", "role": "log", "aria-live": "polite", "aria-relevant": "additions",
                     "aria-label": "Conversation", "tabindex": "0"});
    suggest = el("div", {"class": "omniops-suggestions", "role": "group", "aria-label": "Suggestions"});
    form = el("form", {"class": "omniops-form"});
    var label = el("label", {"for": "omniops-input", "class": "omniops-sr"}, "Message");
    input = el("input", {"id": "omniops-input", "type": "text", "maxlength": "1000", "autocomplete": "off",
                         "placeholder": "Type a request, e.g. Set up my WooCommerce store"});
    sendBtn = el("button", {"type": "submit", "class": "omniops-send"}, "Send");
    form.appendChild(label); form.appendChild(input); form.appendChild(sendBtn);
    panel.appendChild(header); panel.appendChild(log); panel.appendChild(suggest); panel.appendChild(form);
    root.appendChild(panel); root.appendChild(launcher);
    document.body.appendChild(root);

    launcher.addEventListener("click", function () { toggle(panel.hasAttribute("hidden")); });
    close.addEventListener("click", function () { toggle(false); });
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { toggle(false); } });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (text) { input.value = ""; send(text); }
    });
  }

  function toggle(open) {
    if (open) {
      panel.removeAttribute("hidden");
      launcher.setAttribute("aria-expanded", "true");
      root.classList.add("omniops-open");
      input.focus();
      if (!log.childNodes.length) { greet(); }
    } else {
      panel.setAttribute("hidden", "");
      launcher.setAttribute("aria-expanded", "false");
      root.classList.remove("omniops-open");
      launcher.focus();
    }
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function bubble(who, text, extraClass) {
    var b = el("div", {"class": "omniops-msg omniops-" + who + (extraClass ? " " + extraClass : "")});
    b.appendChild(el("span", {"class": "omniops-sr"}, who === "user" ? "You said: " : "OmniOps: "));
    b.appendChild(el("span", {}, text));
    log.appendChild(b); scroll();
    return b;
  }

  function showSuggestions(items, answers) {
    suggest.textContent = "";
    (items || []).forEach(function (s) {
      var btn = el("button", {"type": "button", "class": "omniops-chip"}, (answers ? "" : "Try: ") + s);
      btn.addEventListener("click", function () { send(s); });
      suggest.appendChild(btn);
    });
  }

  function greet() {
    ensureSession().then(function (s) {
      bubble("bot", s.logged_in ? "Hi! What can I set up for you today?"
                                : "Hi! Sign in to OmniOps to run setups. Ask 'help' to see what I can do.");
      showSuggestions(["Set up my WooCommerce store", "Show me your best sellers", "Help"]);
      if (s.logged_in) { startEvents(); }
    }).catch(function () { bubble("bot", "The assistant isn't available on this page right now.", "omniops-error"); });
  }

  function busy(on) { sendBtn.disabled = on; form.setAttribute("aria-busy", on ? "true" : "false"); }

  function send(text) {
    bubble("user", text);
    busy(true);
    api("POST", "/v1/chat/messages", {text: text}).then(showReply).catch(function (err) {
      bubble("bot", err.status === 429 ? "You're going a bit fast — try again in a moment." :
                    "Sorry, something went wrong. Please try again.", "omniops-error");
    }).then(function () { busy(false); });
  }

  function showReply(reply) {
    bubble("bot", reply.text, reply.type === "error" ? "omniops-error" : "");
    if (reply.consent) { consentCard(reply.consent); }
    if (reply.run_id) { progressFor(reply.run_id); if (session && session.logged_in) { startEvents(); } }
    showSuggestions(reply.suggestions, reply.type === "question");
  }

  function consentCard(c) {
    var id = "omniops-consent-" + c.consent_id.replace(/[^A-Za-z0-9_-]/g, "");
    var card = el("div", {"class": "omniops-card", "role": "group", "aria-labelledby": id + "-t"});
    card.appendChild(el("h3", {"id": id + "-t", "class": "omniops-card-title"}, "Approve this action?"));
    var dl = el("dl", {});
    function row(term, value) {
      dl.appendChild(el("dt", {}, term));
      var dd = el("dd", {});
      if (Array.isArray(value)) {
        var ul = el("ul", {});
        (value.length ? value : ["none"]).forEach(function (v) { ul.appendChild(el("li", {}, v)); });
        dd.appendChild(ul);
      } else { dd.textContent = value; }
      dl.appendChild(dd);
    }
    row("Action", c.action); row("Service", c.service); row("Permissions", c.permissions);
    row("Data access", c.data_access); row("Duration", c.duration);
    card.appendChild(dl);
    var actions = el("div", {"class": "omniops-card-actions"});
    var yes = el("button", {"type": "button", "class": "omniops-approve"}, "Approve");
    var no = el("button", {"type": "button", "class": "omniops-decline"}, "Not now");
    actions.appendChild(yes); actions.appendChild(no); card.appendChild(actions);
    function decide(approve) {
      yes.disabled = true; no.disabled = true;
      api("POST", c.decide_url, {approve: approve}).then(function (reply) {
        card.classList.add(approve ? "omniops-approved" : "omniops-declined");
        actions.replaceWith(el("p", {"class": "omniops-card-state"}, approve ? "Approved" : "Declined"));
        showReply(reply);
        input.focus();
      }).catch(function (err) {
        yes.disabled = false; no.disabled = false;
        bubble("bot", err.message || "That didn't work.", "omniops-error");
      });
    }
    yes.addEventListener("click", function () { decide(true); });
    no.addEventListener("click", function () { decide(false); });
    log.appendChild(card); scroll();
    yes.focus();
  }

  /* ------------------------------------------------------------------ progress */
  var runs = {};
  function progressFor(runId) {
    if (runs[runId]) { return runs[runId]; }
    var box = el("div", {"class": "omniops-progress", "data-run": runId});
    box.appendChild(el("p", {"class": "omniops-progress-title"}, "Progress"));
    var list = el("ol", {"class": "omniops-steps"});
    box.appendChild(list);
    log.appendChild(box); scroll();
    runs[runId] = list;
    return list;
  }

  function onEvent(ev) {
    if (!ev || !ev.id || seenEvents[ev.id]) { return; }
    seenEvents[ev.id] = true;
    lastEventId = ev.id;
    var list = progressFor(ev.run_id);
    var item = linkified(el("li", {"class": "omniops-step omniops-kind-" + ev.kind}), ev.message);
    list.appendChild(item); scroll();
  }

  function startEvents() {
    if (streaming) { return; }
    streaming = true;
    var canStream = typeof ReadableStream !== "undefined" && typeof TextDecoder !== "undefined";
    (canStream && failures < 3 ? stream : poll)();
  }

  function retryLater() {
    streaming = false;
    var delay = Math.min(30000, 1000 * Math.pow(2, failures));
    setTimeout(startEvents, delay);
  }

  function stream() {
    var headers = {"Authorization": "Bearer " + session.token, "Accept": "text/event-stream"};
    if (lastEventId) { headers["Last-Event-ID"] = lastEventId; }
    fetch(BASE + "/v1/chat/events", {headers: headers, credentials: "omit", cache: "no-store"}).then(function (r) {
      if (r.status === 401) { session = null; return ensureSession().then(function () { failures++; retryLater(); }); }
      if (!r.ok || !r.body || !r.body.getReader) { throw new Error("no stream"); }
      failures = 0;
      var reader = r.body.getReader(), decoder = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { streaming = false; setTimeout(startEvents, 500); return; }
          buf += decoder.decode(chunk.value, {stream: true}).replace(/\r\n/g, "\n");
          var frames = buf.split("\n\n"); buf = frames.pop();
          frames.forEach(function (frame) {
            var data = [];
            frame.split("\n").forEach(function (line) {
              if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
            });
            if (data.length) { try { onEvent(JSON.parse(data.join("\n"))); } catch (e) { /* ignore bad frame */ } }
          });
          return pump();
        });
      }
      return pump();
    }).catch(function () { failures++; retryLater(); });
  }

  function poll() {
    var q = "/v1/chat/events?poll=1" + (lastEventId ? "&after=" + encodeURIComponent(lastEventId) : "");
    api("GET", q).then(function (data) {
      (data.events || []).forEach(onEvent);
      setTimeout(poll, 3000);
    }).catch(function () { setTimeout(poll, 10000); });
  }

  function init() {
    var css = el("link", {"rel": "stylesheet", "href": BASE + "/v1/chat/widget.css"});
    document.head.appendChild(css);
    build();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

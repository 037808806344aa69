/// The console's one script and one stylesheet, hand-written: passkey ceremonies, the live
/// process table, and a layout that keeps to phone width, keyboard focus and contrast.
///
/// The process table (`.pieces`) is a grid of fixed columns in row groups of `ProcessRows.piece`
/// rows, each laid out and painted only near the screen: a thousand rows as one table cost
/// Chromium about 200 ms of layout after the page was read. The table, not only its rows, is as
/// wide as the columns: a row group's paint containment would clip what overflows it (the
/// signal buttons at phone width). Chromium keeps the table's roles
/// (table, rowgroup, row, columnheader, cell) with these display values; the end-to-end test
/// checks the accessibility tree.
enum ConsoleAssets {
    static let script = #"""
        "use strict";
        const b64 = {
          enc(buf) { let s = ""; for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
            return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); },
          dec(t) { t = t.replace(/-/g, "+").replace(/_/g, "/"); while (t.length % 4) t += "=";
            return Uint8Array.from(atob(t), c => c.charCodeAt(0)); }
        };
        function say(text) { const s = document.getElementById("status"); if (s) s.textContent = text; }
        async function post(path, body) {
          const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify(body), credentials: "same-origin" });
          const j = await r.json();
          if (!r.ok || j.ok === false) throw new Error(j.error || ("HTTP " + r.status));
          return j;
        }
        async function enroll(code) {
          const o = await post("/web/passkeys/register/options", { code });
          o.challenge = b64.dec(o.challenge); o.user.id = b64.dec(o.user.id);
          const c = await navigator.credentials.create({ publicKey: o });
          const done = await post("/web/passkeys/register/finish", { id: c.id, rawId: b64.enc(c.rawId), type: c.type,
            response: { clientDataJSON: b64.enc(c.response.clientDataJSON), attestationObject: b64.enc(c.response.attestationObject) } });
          location.assign(done.redirect);
        }
        async function signin() {
          const o = await post("/web/passkeys/signin/options", {});
          o.challenge = b64.dec(o.challenge);
          const c = await navigator.credentials.get({ publicKey: o });
          const r = c.response;
          const done = await post("/web/passkeys/signin/finish", { id: c.id, rawId: b64.enc(c.rawId), type: c.type,
            response: { clientDataJSON: b64.enc(r.clientDataJSON), authenticatorData: b64.enc(r.authenticatorData),
              signature: b64.enc(r.signature), userHandle: r.userHandle ? b64.enc(r.userHandle) : null } });
          location.assign(done.redirect);
        }
        document.addEventListener("DOMContentLoaded", () => {
          const e = document.getElementById("enroll");
          if (e) e.addEventListener("submit", ev => { ev.preventDefault(); say("Waiting for the authenticator…");
            enroll(document.getElementById("code").value).catch(x => say("Registration failed: " + x.message)); });
          const s = document.getElementById("signin");
          if (s) s.addEventListener("click", () => { say("Waiting for the authenticator…");
            signin().catch(x => say("Sign-in failed: " + x.message)); });
          const notice = document.getElementById("notice");
          if (notice && window.EventSource) {
            new EventSource("/web/approvals/live").addEventListener("approval", ev => {
              const n = parseInt(ev.data, 10) || 0;
              notice.hidden = n === 0;
              notice.firstElementChild.textContent = n + (n === 1 ? " call waits" : " calls wait") + " for your approval";
            });
          }
          const live = document.getElementById("live");
          if (live && window.EventSource) {
            const src = new EventSource(live.dataset.live);
            src.addEventListener("change", async () => {
              const r = await fetch(live.dataset.partial || "/web/processes?partial=table", { credentials: "same-origin" });
              if (!r.ok) return;
              const doc = new DOMParser().parseFromString(await r.text(), "text/html");
              const id = live.dataset.target || "process-table";
              const fresh = doc.getElementById(id), old = document.getElementById(id);
              if (fresh && old) old.replaceWith(fresh);
              live.textContent = "Updated " + new Date().toLocaleTimeString();
            });
          }
        });
        """#

    static let stylesheet = """
        :root { color-scheme: light dark; --fg: #111; --bg: #fff; --accent: #0b57d0; --muted: #444; }
        @media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #121212; --accent: #8ab4f8; --muted: #bbb; } }
        body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
        header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--muted); }
        nav a { margin-right: .75rem; color: var(--accent); }
        main { padding: 1rem; max-width: 72rem; }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: var(--bg); }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        .inline { display: inline; } .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid var(--muted); padding: .25rem .5rem; text-align: left; }
        button, input, select { font: inherit; min-height: 2.25rem; }
        .card { border: 1px solid var(--muted); border-radius: .5rem; padding: .5rem 1rem; margin: .5rem 0; }
        #notice { margin: 0; padding: .5rem 1rem; border-bottom: 2px solid var(--accent); font-weight: bold; }
        .bad { color: #b00020; } .ok { color: #1b5e20; }
        @media (prefers-color-scheme: dark) { .bad { color: #ff8a80; } .ok { color: #a5d6a7; } }
        .pieces, .pieces caption, .pieces thead, .pieces tbody { display: block; } .pieces caption { text-align: left; }
        .pieces { min-width: 50rem; } .pieces tr { display: grid; grid-template-columns: 4rem 5rem minmax(8rem, 1fr) 6rem 7rem 5rem 5.5rem 8.5rem; }
        .pieces tbody { content-visibility: auto; contain-intrinsic-size: auto 2250px; }
        .tree ul { margin: 0; padding-left: 1.25rem; border-left: 1px dotted var(--muted); }
        textarea { font: inherit; width: 100%; max-width: 48rem; }
        .chart { max-width: 48rem; } .chart text { fill: var(--fg); font-size: 12px; } .chart .bar { fill: var(--accent); }
        .chart .track { fill: none; stroke: var(--muted); }
        .chart .line { fill: none; stroke: var(--accent); stroke-width: 2; } .chart .axis { stroke: var(--muted); }
        .messages { fill: #0b57d0; background: #0b57d0; } .blocks { fill: #6a1b9a; background: #6a1b9a; }
        .summary { fill: #00796b; background: #00796b; } .free { fill: #616161; background: #616161; }
        .pages { fill: #a84300; background: #a84300; } .answer { fill: #455a64; background: #455a64; }
        .key { display: inline-block; color: #fff; padding: 0 .4rem; border-radius: .25rem; }
        .transcript { list-style: none; padding: 0; } .transcript li { border-left: 3px solid var(--muted); padding: .25rem .75rem; margin: .5rem 0; }
        .transcript .text { white-space: pre-wrap; } .transcript code { white-space: pre-wrap; word-break: break-word; }
        .transcript .denied { border-color: #b00020; } .transcript .approval { border-color: var(--accent); }
        """
}

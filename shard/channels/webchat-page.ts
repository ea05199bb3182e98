// The WebChat page and widget (static text; the page is served per channel with its publishable key).
// The widget keeps a random visitor token in localStorage, posts messages, and polls its inbox.

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function webchatPage(opts: { title: string; base: string; publishableKey: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)}</title>
<style>body{font:15px system-ui,sans-serif;margin:0;display:flex;flex-direction:column;height:100vh}
#log{flex:1;overflow:auto;padding:12px}.m{margin:6px 0;padding:8px 10px;border-radius:8px;max-width:80%;white-space:pre-wrap}
.me{background:#dbeafe;margin-left:auto}.bot{background:#f1f5f9}form{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e8f0}
input{flex:1;padding:8px}</style></head>
<body><div id="log" aria-live="polite"></div>
<form id="f"><input id="t" autocomplete="off" placeholder="Write a message" aria-label="message"><button>Send</button></form>
<script src="${esc(opts.base)}/widget.js" data-base="${esc(opts.base)}" data-key="${esc(opts.publishableKey)}"></script>
</body></html>`;
}

export const WEBCHAT_WIDGET_JS = `(() => {
  const me = document.currentScript;
  const base = me.dataset.base, key = me.dataset.key;
  const store = window.localStorage;
  let token = store.getItem('openclawmu-visitor:' + base);
  if (!token) {
    const b = new Uint8Array(16); crypto.getRandomValues(b);
    token = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    store.setItem('openclawmu-visitor:' + base, token);
  }
  const log = document.getElementById('log'), form = document.getElementById('f'), input = document.getElementById('t');
  const add = (cls, text) => { const d = document.createElement('div'); d.className = 'm ' + cls; d.textContent = text; log.appendChild(d); log.scrollTop = log.scrollHeight; };
  const headers = { 'content-type': 'application/json', 'x-openclawmu-publishable-key': key, 'x-openclawmu-visitor': token };
  let after = 0;
  async function poll() {
    try {
      const r = await fetch(base + '/messages?after=' + after, { headers });
      if (r.ok) { const j = await r.json(); for (const m of j.messages) { add('bot', m.text); after = m.id; } }
    } catch (e) { /* offline: the next poll retries */ }
    setTimeout(poll, 700);
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim(); if (!text) return;
    input.value = ''; add('me', text);
    const messageId = 'm' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    for (let i = 0; i < 3; i++) {
      try { const r = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ visitorToken: token, messageId, text }) }); if (r.status < 500) break; } catch (e) { /* same messageId: the server dedupes */ }
    }
  });
  poll();
})();
`;

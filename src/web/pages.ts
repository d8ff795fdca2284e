const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export { escapeHtml };

/** A minimal page: no scripts (the CSP allows none inline), forms post back to the same path. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · InstaTunnel</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1d232a}
h1{font-size:1.4rem}input{display:block;width:100%;padding:.5rem;margin:.25rem 0 1rem;box-sizing:border-box}
button{padding:.6rem 1.2rem;font-size:1rem;cursor:pointer}.error{color:#a4262c}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function tokenForm(action: string, token: string, button: string, extra = ''): string {
  return `<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">${extra}
<button type="submit">${escapeHtml(button)}</button></form>`;
}

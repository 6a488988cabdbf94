/** Hides the stream key (last path segment and query) of a push URL, for logs, metrics and the API. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const parts = u.pathname.split('/');
    const key = parts.pop() ?? '';
    const shown = key.length > 0 ? `${key.slice(0, 2)}***` : '';
    return `${u.protocol}//${u.host}${parts.join('/')}/${shown}`;
  } catch {
    return '(invalid url)';
  }
}

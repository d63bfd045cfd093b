// The one way the console talks to campanile: JSON over fetch, same origin, no cookies. With
// `server.auth_token` set, an answer of 401 asks for the token once (a dialog); it is kept in
// this tab's session storage and sent as `Authorization: Bearer` with every later call. A
// cancelled dialog is not shown again by reads (a page polls) until the notice's button asks
// for it; a write always asks.

const KEY = 'campanile.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(KEY);
}

/** Asks for the token (`refused`: the last one was wrong); resolves to it, or to null when cancelled. */
function askToken(refused) {
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  const note = document.getElementById('token-refused');
  input.value = '';
  note.hidden = !refused;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const value = dialog.returnValue === 'ok' ? input.value.trim() : '';
      if (value) sessionStorage.setItem(KEY, value);
      resolve(value || null);
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    input.focus();
  });
}

let asking = null;
/** Cancelled: reads (a page's polls) stop asking until the person asks to give the token. */
let declined = false;

/** The notice above the page while reads go without the token, with a button to give it. */
function declinedNotice() {
  const notice = document.getElementById('notice');
  const again = document.createElement('button');
  again.type = 'button';
  again.id = 'give-token';
  again.textContent = 'Enter the API token';
  again.addEventListener('click', () => {
    declined = false;
    notice.hidden = true;
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  });
  notice.replaceChildren('campanile needs its API token to show this page. ', again);
  notice.hidden = false;
}

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
}

/** Calls the API; resolves to the decoded answer (JSON or text), or rejects with ApiError. */
export async function call(method, path, body) {
  let r = await send(method, path, body);
  // Refused: ask (one dialog for every call refused meanwhile), until a token works or the
  // person cancels.
  while (r.status === 401) {
    if (method === 'GET' && declined) break;
    const refused = token() !== null;
    sessionStorage.removeItem(KEY);
    asking ??= askToken(refused).finally(() => { asking = null; });
    if (!(await asking)) {
      if (method === 'GET') {
        declined = true;
        declinedNotice();
      }
      break;
    }
    declined = false;
    r = await send(method, path, body);
  }
  const type = r.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const message = typeof data === 'string' ? data : (data && data.error) || JSON.stringify(data);
    throw new ApiError(r.status, `${method} ${path}: ${r.status} ${message}`);
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);
export const del = (path, body) => call('DELETE', path, body);

/** A query string of `filter=` parameters, one per matcher. */
export function filters(matchers) {
  const q = new URLSearchParams();
  for (const m of matchers) q.append('filter', m);
  return q.toString();
}

// The REST client of the screens: same-origin fetch with the session cookie, and one error
// type that carries Label Studio's error envelope (detail + validation_errors).

export class ApiFailure extends Error {
  constructor(status, body) {
    super(messageOf(status, body));
    this.status = status;
    this.body = body;
    this.fields = (body && body.validation_errors) || {};
  }
}

function messageOf(status, body) {
  if (body && body.validation_errors) {
    const lines = Object.entries(body.validation_errors).map(([field, messages]) =>
      (field === 'non_field_errors' ? '' : `${field}: `) + [].concat(messages).join(' '));
    if (lines.length) return lines.join('\n');
  }
  if (body && body.detail) return body.detail;
  if (status === 0) return 'The server cannot be reached. Is labelsync still running?';
  return `The server answered ${status}.`;
}

/** Calls the API; resolves with the JSON body (null for 204), throws ApiFailure.
 * `keepalive` lets the request finish when the page is being left. */
export async function api(method, path, body, { keepalive = false } = {}) {
  const init = { method, credentials: 'same-origin', keepalive, headers: { Accept: 'application/json' } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiFailure(0, null);
  }
  if (response.status === 401) {
    window.location.assign('/user/login');
    throw new ApiFailure(401, { detail: 'Your session has ended: sign in again.' });
  }
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = { detail: text.slice(0, 300) }; }
  }
  if (!response.ok) throw new ApiFailure(response.status, json);
  return json;
}

export const get = (path) => api('GET', path);

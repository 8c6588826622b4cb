import { useState } from 'preact/hooks';
import { ApiError, login } from '../api.js';
import type { Session } from '../types.js';

export function Login({ onLogin }: { onLogin(s: Session): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onLogin(await login(token));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That token is not valid.' : String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login" data-testid="login-form" onSubmit={submit}>
      <h1>Sluice</h1>
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="current-password" required autofocus data-testid="login-token"
        value={token} onInput={(e) => setToken(e.currentTarget.value)} />
      {/* The page's error banner, inside the form: the app's own banner is for errors of a logged-in page. */}
      {error && <p class="form-error" role="alert" data-testid="error-banner">{error}</p>}
      <button type="submit" class="primary" disabled={busy || !token} data-testid="login-submit">Log in</button>
    </form>
  );
}

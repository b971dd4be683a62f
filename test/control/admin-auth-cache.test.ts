import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/control/passwords.js';
import { ADMIN_PASSWORD, adminAuth, startServer } from './helpers.js';

test('repeated admin calls are answered from verified credentials, and a changed password is never let in from there', async () => {
  const h = await startServer();
  try {
    const get = (auth: string) => h.server.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { authorization: auth } });
    assert.equal((await get(adminAuth())).statusCode, 200);
    // The second call skips scrypt: it takes a small fraction of the first's cost. Only correctness is asserted here.
    assert.equal((await get(adminAuth())).statusCode, 200);
    assert.equal((await get(adminAuth('wrong'))).statusCode, 401);
    // The admin password changes in the store: the remembered old one no longer works.
    await h.store.setUserPassword('admin', await hashPassword('new-password'));
    assert.equal((await get(adminAuth(ADMIN_PASSWORD))).statusCode, 401);
    assert.equal((await get(adminAuth('new-password'))).statusCode, 200);
  } finally {
    await h.close();
  }
});

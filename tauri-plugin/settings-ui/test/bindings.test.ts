/**
 * The guest-js bindings against Tauri's IPC mock: each wrapper sends the
 * contract's command name and camelCase arguments, rejections arrive as
 * `PluginError { code, message }`, and `onSyncState` delivers the event's
 * payload until unlistened.
 */
import { emit } from '@tauri-apps/api/event'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import * as api from 'tauri-plugin-sealsync-api'
import type { SyncStateEvent } from 'tauri-plugin-sealsync-api'
import { afterEach, expect, test } from 'vitest'

afterEach(() => clearMocks())

function recordCalls() {
  const calls: [string, unknown][] = []
  mockIPC(
    (cmd, args) => {
      calls.push([cmd, args])
      return cmd === 'plugin:sealsync|devices' || cmd === 'plugin:sealsync|list' ? [] : null
    },
    { shouldMockEvents: true }
  )
  return calls
}

test('every command wrapper invokes plugin:sealsync|<command> with the contract arguments', async () => {
  const calls = recordCalls()
  const id = '0b7c3d7e-2a8f-4c1e-9b52-6f0d3a1c9e01'
  await api.status()
  await api.passphraseStrength('p')
  await api.enable({ mode: 'join', serverUrl: 'https://s.example', accountName: 'a', passphrase: 'p', deviceName: 'd' })
  await api.disable()
  await api.syncNow()
  await api.devices()
  await api.revokeDevice(id)
  await api.changePassphrase('old', 'new')
  await api.newRecoveryKey('p')
  await api.rotateKey('p')
  await api.unlock('p')
  await api.create('mood', { score: 3 })
  await api.update('activity', id, { name: 'walk' })
  await api.remove('schedule', id)
  await api.get('assessment', id)
  await api.list('mood')
  await api.list('mood', true)
  // A command without arguments is sent with `{}` (what Tauri's invoke does).
  expect(calls).toEqual([
    ['plugin:sealsync|status', {}],
    ['plugin:sealsync|passphrase_strength', { passphrase: 'p' }],
    ['plugin:sealsync|enable', { mode: 'join', serverUrl: 'https://s.example', accountName: 'a', passphrase: 'p', deviceName: 'd' }],
    ['plugin:sealsync|disable', {}],
    ['plugin:sealsync|sync_now', {}],
    ['plugin:sealsync|devices', {}],
    ['plugin:sealsync|revoke_device', { deviceId: id }],
    ['plugin:sealsync|change_passphrase', { oldPassphrase: 'old', newPassphrase: 'new' }],
    ['plugin:sealsync|new_recovery_key', { passphrase: 'p' }],
    ['plugin:sealsync|rotate_key', { passphrase: 'p' }],
    ['plugin:sealsync|unlock', { passphrase: 'p' }],
    ['plugin:sealsync|create', { kind: 'mood', fields: { score: 3 } }],
    ['plugin:sealsync|update', { kind: 'activity', id, fields: { name: 'walk' } }],
    ['plugin:sealsync|delete', { kind: 'schedule', id }],
    ['plugin:sealsync|get', { kind: 'assessment', id }],
    ['plugin:sealsync|list', { kind: 'mood', includeDeleted: false }],
    ['plugin:sealsync|list', { kind: 'mood', includeDeleted: true }]
  ])
})

test('rejections are PluginError { code, message }, whatever the plugin threw', async () => {
  mockIPC((cmd) => {
    if (cmd === 'plugin:sealsync|unlock') return Promise.reject({ code: 'wrong_passphrase', message: 'no', extra: 1 })
    return Promise.reject('plugin sealsync not allowed by ACL')
  })
  await expect(api.unlock('x')).rejects.toEqual({ code: 'wrong_passphrase', message: 'no' })
  await expect(api.status()).rejects.toEqual({ code: 'internal', message: 'plugin sealsync not allowed by ACL' })
  expect(api.isPluginError({ code: 'x', message: 'y' })).toBe(true)
  expect(api.isPluginError('x')).toBe(false)
})

test('onSyncState delivers each sealsync://state payload until unlistened', async () => {
  recordCalls()
  const seen: SyncStateEvent[] = []
  const unlisten = await api.onSyncState((s) => seen.push(s))
  await emit(api.SYNC_STATE_EVENT, { state: 'syncing', phase: 'upload', done: 1, total: null })
  await emit('other-event', { state: 'idle' })
  await emit(api.SYNC_STATE_EVENT, { state: 'revoked' })
  unlisten()
  await emit(api.SYNC_STATE_EVENT, { state: 'idle' })
  expect(seen).toEqual([{ state: 'syncing', phase: 'upload', done: 1, total: null }, { state: 'revoked' }])
})

/**
 * The settings panel driven end to end in headless Chromium: the real
 * component, the real bindings and Tauri's real IPC layer, with only the
 * plugin's Rust side replaced by FakePlugin behind `mockIPC`. Each test walks
 * one path a person takes (turn on with a new or an existing account, sync,
 * offline, errors, removing devices, turning off, unlocking) and checks what
 * they read and which commands reached the plugin with which arguments.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { page, userEvent } from 'vitest/browser'
import { cleanup, render } from 'vitest-browser-svelte'
import SyncSettings from '../src/SyncSettings.svelte'
import { expectLabelled, expectNoAxeViolations, expectPlainWords } from './a11y'
import { FakePlugin, GOOD_PASSPHRASE, PHONE, RECOVERY_KEY, T0, THIS_DEVICE, clearMocks } from './fakePlugin'

declare const __SAVE_SCREENSHOTS__: boolean

afterEach(async () => {
  await cleanup()
  clearMocks()
})

async function mount(fake: FakePlugin) {
  const screen = await render(SyncSettings, { props: { locale: 'en-GB', defaultDeviceName: 'Laptop' } })
  const root = screen.container.querySelector<HTMLElement>('.sealsync-settings')!
  await expect.element(page.getByRole('heading', { name: 'Sync', exact: true })).toBeVisible()
  // Wait until status() has answered.
  await expect.poll(() => root.dataset.view).not.toBe('loading')
  return { screen, root, fake }
}

/** Checks the view with axe-core, then saves docs/screenshots/<name>.png under `npm run screenshots`. */
async function shot(name: string, root: HTMLElement) {
  await expectNoAxeViolations(root)
  await page.screenshot({
    element: root,
    path: `../../../docs/screenshots/${name}.png`,
    save: __SAVE_SCREENSHOTS__
  })
}

function focused(): string {
  const el = document.activeElement as HTMLElement | null
  return el?.textContent?.trim() ?? ''
}

describe('turning sync on', () => {
  test('create a new account: strength meter, matching entries, recovery key shown once', async () => {
    const fake = new FakePlugin()
    const { root } = await mount(fake)

    await expect.element(page.getByRole('heading', { name: 'Sync is off' })).toBeVisible()
    expectLabelled(root)
    expectPlainWords(root)
    await shot('off', root)

    // Keyboard only: Tab to "Turn on sync", press Enter; focus moves to the form's heading.
    await userEvent.tab()
    expect(focused()).toBe('Turn on sync')
    await userEvent.keyboard('{Enter}')
    await expect.poll(focused).toBe('Turn on sync')
    expect(document.activeElement?.tagName).toBe('H3')

    const submit = page.getByRole('button', { name: 'Create account and turn on sync' })
    await expect.element(page.getByLabelText('Create a new sync account')).toBeChecked()
    await userEvent.fill(page.getByLabelText('Sync server address'), 'https://sync.example.org')
    await userEvent.fill(page.getByLabelText('Account name'), 'sam@example.org')
    await expect.element(page.getByLabelText('Name for this device')).toHaveValue('Laptop')

    // A weak passphrase: the meter says so and the form will not submit.
    await userEvent.fill(page.getByLabelText('Passphrase', { exact: true }), 'hunter2')
    await expect.element(page.getByText('Weak — too easy to guess')).toBeVisible()
    await expect.element(page.getByText('Short passphrases are easy to guess.')).toBeVisible()
    await expect.element(submit).toBeDisabled()

    // A strong one typed differently the second time: told, still no submit.
    await userEvent.fill(page.getByLabelText('Passphrase', { exact: true }), GOOD_PASSPHRASE)
    await expect.element(page.getByText('Strong', { exact: true })).toBeVisible()
    await expect.element(page.getByLabelText('Strength', { exact: true })).toHaveAttribute('value', '4')
    await userEvent.fill(page.getByLabelText('Passphrase again'), GOOD_PASSPHRASE + 'x')
    await expect.element(page.getByText('The two passphrases are not the same.')).toBeVisible()
    await expect.element(page.getByLabelText('Passphrase again')).toHaveAttribute('aria-invalid', 'true')
    await expect.element(submit).toBeDisabled()
    await expect.element(page.getByText('Your passphrase cannot be reset.')).toBeVisible()

    await userEvent.fill(page.getByLabelText('Passphrase again'), GOOD_PASSPHRASE)
    await expect.element(submit).toBeEnabled()
    expectLabelled(root)
    expectPlainWords(root)
    await shot('enable-form', root)
    expect(fake.called('enable')).toHaveLength(0)
    await userEvent.click(submit)

    // The recovery key, once, with "write this down"; Done only after confirming.
    await expect.element(page.getByRole('heading', { name: 'Your recovery key' })).toHaveFocus()
    await expect.element(page.getByText(RECOVERY_KEY)).toBeVisible()
    await expect.element(page.getByText('Write this down now and keep it somewhere safe.')).toBeVisible()
    const done = page.getByRole('button', { name: 'Done' })
    await expect.element(done).toBeDisabled()
    await shot('recovery-key', root)
    await userEvent.click(page.getByLabelText('I have written down my recovery key'))
    await userEvent.click(done)

    expect(fake.called('enable').map((c) => c.args)).toEqual([
      {
        mode: 'new',
        serverUrl: 'https://sync.example.org',
        accountName: 'sam@example.org',
        passphrase: GOOD_PASSPHRASE,
        deviceName: 'Laptop'
      }
    ])
    await expect.element(page.getByText('Sync is on. Waiting for changes.')).toBeVisible()
    expect(root.innerText).not.toContain(RECOVERY_KEY)
    // The passphrase does not linger in any field.
    for (const input of root.querySelectorAll('input')) expect(input.value).not.toContain(GOOD_PASSPHRASE)
  })

  test('join an existing account: passphrase once, a wrong one is explained, no recovery key', async () => {
    const fake = new FakePlugin()
    const { root } = await mount(fake)
    await userEvent.click(page.getByRole('button', { name: 'Turn on sync' }))

    // Choose "join" with the keyboard (arrow keys move within the radio group).
    await page.getByLabelText('Create a new sync account').element().focus()
    await userEvent.keyboard('{ArrowDown}')
    await expect.element(page.getByLabelText('Join the account I already use on another device')).toBeChecked()
    expect(root.querySelector('meter')).toBeNull()

    await userEvent.fill(page.getByLabelText('Sync server address'), 'https://sync.example.org')
    await userEvent.fill(page.getByLabelText('Account name'), '  sam@example.org ')
    await userEvent.fill(page.getByLabelText('Name for this device'), 'Desktop')
    await userEvent.fill(page.getByLabelText("Your account's passphrase"), 'not it')
    await userEvent.click(page.getByRole('button', { name: 'Join and turn on sync' }))

    const alert = page.getByRole('alert')
    await expect.element(alert).toHaveTextContent('That passphrase is not right. Check it and try again.')
    await expect.element(alert).toHaveFocus()
    expectPlainWords(root)

    await userEvent.fill(page.getByLabelText("Your account's passphrase"), GOOD_PASSPHRASE)
    await userEvent.keyboard('{Enter}')
    await expect.element(page.getByText('Sync is on. Waiting for changes.')).toBeVisible()
    // The account name is sent trimmed; the passphrase exactly as typed.
    const join = { mode: 'join', serverUrl: 'https://sync.example.org', accountName: 'sam@example.org', deviceName: 'Desktop' }
    expect(fake.called('enable').map((c) => c.args)).toEqual([
      { ...join, passphrase: 'not it' },
      { ...join, passphrase: GOOD_PASSPHRASE }
    ])
    expect(root.innerText).not.toContain('Write this down')
  })

  test('an unreachable server while turning on is said plainly and nothing is lost', async () => {
    const fake = new FakePlugin({ failNext: { enable: { code: 'offline', message: 'connect: refused' } } })
    await mount(fake)
    await userEvent.click(page.getByRole('button', { name: 'Turn on sync' }))
    await userEvent.fill(page.getByLabelText('Sync server address'), 'https://down.example.org')
    await userEvent.fill(page.getByLabelText('Account name'), 'sam@example.org')
    await userEvent.fill(page.getByLabelText('Passphrase', { exact: true }), GOOD_PASSPHRASE)
    await userEvent.fill(page.getByLabelText('Passphrase again'), GOOD_PASSPHRASE)
    await userEvent.click(page.getByRole('button', { name: 'Create account and turn on sync' }))
    await expect
      .element(page.getByRole('alert'))
      .toHaveTextContent('The sync server could not be reached. Check the address and your internet connection.')
    // The form keeps what was typed, so trying again is one click.
    await expect.element(page.getByLabelText('Sync server address')).toHaveValue('https://down.example.org')
    await userEvent.click(page.getByRole('button', { name: 'Create account and turn on sync' }))
    await expect.element(page.getByRole('heading', { name: 'Your recovery key' })).toBeVisible()
    expect(fake.called('enable')).toHaveLength(2)
  })
})

test('when the status cannot be read, the panel says so and "Try again" recovers', async () => {
  const fake = new FakePlugin({
    enabled: true,
    failNext: { status: { code: 'internal', message: 'the journal could not be opened' } }
  })
  const { root } = await mount(fake)
  await expect
    .element(page.getByRole('alert'))
    .toHaveTextContent('Something went wrong: the journal could not be opened')
  expectLabelled(root)
  await userEvent.click(page.getByRole('button', { name: 'Try again' }))
  await expect.element(page.getByText('Sync is on. Waiting for changes.')).toBeVisible()
  expect(fake.called('status').length).toBe(2)
})

describe('while sync is on', () => {
  test('status: last sync in local time, waiting changes, unreadable items; syncing then synced', async () => {
    const fake = new FakePlugin({ enabled: true, pending: 3, quarantined: 2 })
    const { root } = await mount(fake)

    const status = page.getByRole('status')
    await expect.element(status).toHaveAttribute('aria-live', 'polite')
    await expect.element(page.getByRole('region', { name: 'Status' }).getByText('14 Mar 2026, 09:30')).toBeVisible()
    const facts = root.querySelector('dl')!
    expect(facts.innerText).toMatch(/Changes waiting to be sent\s+3/)
    expect(facts.innerText).toMatch(/Items that could not be read\s+2/)
    expect(facts.innerText).toContain("your system's password store")

    await fake.emitState({ state: 'syncing', phase: 'upload', done: 1, total: 3 })
    await expect.element(status).toHaveTextContent('Sending your changes: 1 of 3…')
    const bar = page.getByRole('progressbar', { name: 'Sending progress' })
    await expect.element(bar).toHaveAttribute('value', '1')
    await expect.element(bar).toHaveAttribute('max', '3')
    expect(root.querySelector('.state .spinner')).not.toBeNull()
    await expect.element(page.getByRole('button', { name: 'Sync now' })).toBeDisabled()
    expectLabelled(root)
    expectPlainWords(root)
    await shot('syncing', root)

    await fake.emitState({ state: 'syncing', phase: 'download', done: 0, total: null })
    await expect.element(status).toHaveTextContent('Getting changes from your other devices…')
    expect(root.querySelector('progress')!.hasAttribute('value')).toBe(false) // indeterminate

    fake.pending = 0
    fake.lastSyncAt = T0 + 120_000
    await fake.emitState({ state: 'synced', at: T0 + 120_000, pushed: 3, pulled: 4 })
    await expect.element(status).toHaveTextContent('Up to date. Last synced at 09:32:00.')
    expect(root.querySelector('.state .spinner')).toBeNull()
    // The status was read again after the sync.
    await expect.poll(() => facts.innerText).toMatch(/Changes waiting to be sent\s+0/)
    await expect.element(page.getByRole('region', { name: 'Status' }).getByText('14 Mar 2026, 09:32')).toBeVisible()
    await expect.element(page.getByRole('button', { name: 'Sync now' })).toBeEnabled()
    expectPlainWords(root)
    await shot('synced', root)
  })

  test('sync now reports what moved, and a failure says why', async () => {
    const fake = new FakePlugin({
      enabled: true,
      failNext: { sync_now: { code: 'rate_limited', message: 'retry after 30s' } }
    })
    await mount(fake)
    const button = page.getByRole('button', { name: 'Sync now' })
    await userEvent.click(button)
    await expect.element(page.getByRole('alert')).toHaveTextContent('The sync server is busy. Wait a minute and try again.')
    await userEvent.click(button)
    await expect.element(page.getByText('Done: sent 2, received 5.')).toBeVisible()
    expect(fake.called('sync_now')).toHaveLength(2)
    await expect.element(page.getByRole('region', { name: 'Status' }).getByText('14 Mar 2026, 09:31')).toBeVisible()
  })

  test('offline: says when it will try again, keeps changes; an error state shows its message', async () => {
    const fake = new FakePlugin({ enabled: true, pending: 4 })
    const { root } = await mount(fake)
    await fake.emitState({
      state: 'offline',
      retryAt: T0 + 95_000,
      attempt: 3,
      message: 'error sending request'
    })
    const status = page.getByRole('status')
    await expect.element(status).toHaveTextContent("Can't reach the sync server. Trying again at 09:31:35.")
    await expect.element(status).toHaveTextContent('Attempt 3; next try at 09:31:35.')
    await expect.element(status).toHaveTextContent('Your changes are kept on this device until then.')
    expect(root.querySelector('.state time')!.getAttribute('datetime')).toBe('2026-03-14T09:31:35.000Z')
    expectPlainWords(root)
    await shot('offline', root)

    await fake.emitState({ state: 'error', code: 'server', message: 'The server answered 500.' })
    await expect.element(status).toHaveTextContent('Sync stopped: The server answered 500.')
    await fake.emitState({ state: 'error', code: 'reenrol_required', message: 'device_seq_reused' })
    await expect
      .element(status)
      .toHaveTextContent('Sync stopped: This device has to join your account again: turn sync off, then on.')
    await fake.emitState({ state: 'idle' })
    await expect.element(status).toHaveTextContent('Sync is on. Waiting for changes.')
  })

  test('removing another device asks first; Escape or Cancel removes nothing', async () => {
    const fake = new FakePlugin({ enabled: true })
    await mount(fake)
    const remove = page.getByRole('button', { name: 'Remove Phone' })
    await userEvent.click(remove)
    const dialog = page.getByRole('dialog', { name: 'Remove Phone?' })
    await expect.element(dialog).toBeVisible()
    await expect.element(dialog.getByRole('button', { name: 'Cancel' })).toHaveFocus()
    await userEvent.keyboard('{Escape}')
    await expect.element(dialog).not.toBeInTheDocument()
    await expect.element(remove).toHaveFocus()
    expect(fake.called('revoke_device')).toHaveLength(0)

    await userEvent.click(remove)
    await userEvent.click(page.getByRole('dialog').getByRole('button', { name: 'Remove device' }))
    await expect.element(page.getByText('Phone was removed.', { exact: false })).toBeVisible()
    expect(fake.called('revoke_device').map((c) => c.args)).toEqual([{ deviceId: PHONE }])
    await expect.element(page.getByRole('button', { name: 'Remove Phone' })).not.toBeInTheDocument()
    const phone = page.getByRole('listitem').filter({ hasText: 'Phone' })
    await expect.element(phone.getByText('removed', { exact: true })).toBeVisible()
    // A device whose name this one cannot read is still listed, in plain words.
    const unnamed = page.getByRole('listitem').filter({ hasText: 'Unnamed device' })
    await expect.element(unnamed.getByText('removed', { exact: true })).toBeVisible()
  })

  test('removing this device warns, then the panel shows the removed state', async () => {
    const fake = new FakePlugin({ enabled: true })
    const { root } = await mount(fake)
    await userEvent.click(page.getByRole('button', { name: 'Remove Laptop' }))
    const dialog = page.getByRole('dialog', { name: 'Remove this device?' })
    await expect.element(dialog).toHaveTextContent('This is the device you are using now.')
    await expect.element(dialog).toHaveTextContent('Your journal stays on this device.')
    await userEvent.click(dialog.getByRole('button', { name: 'Remove this device' }))
    expect(fake.called('revoke_device').map((c) => c.args)).toEqual([{ deviceId: THIS_DEVICE }])

    // The controller reports the device as revoked.
    await fake.emitState({ state: 'revoked' })
    await expect.element(page.getByRole('heading', { name: 'This device was removed' })).toHaveFocus()
    await expect.element(page.getByText('Your journal is still here.', { exact: false })).toBeVisible()
    expect(root.querySelector('button')?.textContent).toContain('Turn off sync')
    expectLabelled(root)
    expectPlainWords(root)
    await shot('revoked', root)
  })

  test('turning sync off says what it keeps and what it forgets', async () => {
    const fake = new FakePlugin({ enabled: true })
    await mount(fake)
    await userEvent.click(page.getByRole('button', { name: 'Turn off sync' }))
    const dialog = page.getByRole('dialog', { name: 'Turn off sync?' })
    await expect.element(dialog).toHaveTextContent('Your journal stays on this device')
    await expect
      .element(dialog)
      .toHaveTextContent('This device forgets its connection to the sync server and its keys')
    await userEvent.click(dialog.getByRole('button', { name: 'Turn off sync' }))
    await expect.element(page.getByRole('heading', { name: 'Sync is off' })).toHaveFocus()
    expect(fake.called('disable')).toHaveLength(1)
  })

  test('needs the passphrase: unlock form, wrong then right', async () => {
    const fake = new FakePlugin({ enabled: true, state: { state: 'needsPassphrase' } })
    const { root } = await mount(fake)
    await expect.element(page.getByRole('heading', { name: 'Enter your passphrase' })).toBeVisible()
    expectLabelled(root)
    await userEvent.fill(page.getByLabelText('Passphrase'), 'wrong')
    await userEvent.keyboard('{Enter}')
    await expect.element(page.getByRole('alert')).toHaveTextContent('That passphrase is not right.')
    await userEvent.fill(page.getByLabelText('Passphrase'), GOOD_PASSPHRASE)
    await userEvent.click(page.getByRole('button', { name: 'Unlock' }))
    await expect.element(page.getByText('Sync is on. Waiting for changes.')).toBeVisible()
    expect(fake.called('unlock').map((c) => c.args)).toEqual([
      { passphrase: 'wrong' },
      { passphrase: GOOD_PASSPHRASE }
    ])
  })

  test('key lifecycle sections: change passphrase, new recovery key, renew the encryption key', async () => {
    const fake = new FakePlugin({ enabled: true })
    const { root } = await mount(fake)
    await userEvent.click(page.getByRole('button', { name: 'Change passphrase' }))
    await expect.element(page.getByLabelText('Current passphrase')).toHaveFocus()
    await userEvent.fill(page.getByLabelText('Current passphrase'), GOOD_PASSPHRASE)
    await userEvent.fill(page.getByLabelText('New passphrase', { exact: true }), 'a much longer new passphrase')
    await userEvent.fill(page.getByLabelText('New passphrase again'), 'a much longer new passphrase')
    expectLabelled(root)
    const change = root.querySelector<HTMLButtonElement>('form button[type=submit]')!
    await expect.poll(() => change.disabled).toBe(false)
    await userEvent.click(change)
    await expect.element(page.getByText('Your passphrase was changed.', { exact: false })).toBeVisible()
    expect(fake.called('change_passphrase').map((c) => c.args)).toEqual([
      { oldPassphrase: GOOD_PASSPHRASE, newPassphrase: 'a much longer new passphrase' }
    ])

    await userEvent.click(page.getByRole('button', { name: 'Make a new recovery key' }))
    await userEvent.fill(page.getByLabelText('Your passphrase'), 'a much longer new passphrase')
    await userEvent.click(page.getByRole('button', { name: 'Make new key' }))
    await expect.element(page.getByText('NEW1-NEW2-NEW3-NEW4-NEW5-NEW6-NEW7-NEW8')).toBeVisible()
    expect(fake.called('new_recovery_key').map((c) => c.args)).toEqual([
      { passphrase: 'a much longer new passphrase' }
    ])
    await userEvent.click(page.getByLabelText('I have written down my recovery key'))
    await userEvent.click(page.getByRole('button', { name: 'Done' }))
    await expect.element(page.getByText('NEW1-NEW2-NEW3-NEW4-NEW5-NEW6-NEW7-NEW8')).not.toBeInTheDocument()

    // Renewing the encryption key: a wrong passphrase is refused, the right one goes through.
    await userEvent.click(page.getByRole('button', { name: 'Renew encryption key' }))
    const renew = page.getByRole('region', { name: 'Encryption key' })
    await expect.element(renew.getByLabelText('Your passphrase')).toHaveFocus()
    await userEvent.fill(renew.getByLabelText('Your passphrase'), 'not it')
    await userEvent.keyboard('{Enter}')
    await expect.element(renew.getByRole('alert')).toHaveTextContent('That passphrase is not right.')
    await userEvent.fill(renew.getByLabelText('Your passphrase'), 'a much longer new passphrase')
    await userEvent.click(renew.getByRole('button', { name: 'Renew key' }))
    await expect.element(page.getByText('The encryption key was renewed.', { exact: false })).toBeVisible()
    expect(fake.called('rotate_key').map((c) => c.args)).toEqual([
      { passphrase: 'not it' },
      { passphrase: 'a much longer new passphrase' }
    ])
    expectPlainWords(root)
  })
})

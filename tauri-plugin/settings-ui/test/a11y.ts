/**
 * Accessibility and wording checks shared by the panel's tests: every control
 * has an accessible name, and nothing a person reads uses protocol words.
 */
import { expect } from 'vitest'

const JARGON = /envelope|cursor|quarantin|nonce|aead|hlc|tombstone|wrapped key|device token/i

function nameOf(el: Element): string {
  const aria = el.getAttribute('aria-label')
  if (aria) return aria
  const by = el.getAttribute('aria-labelledby')
  if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim()
  const labels = (el as HTMLInputElement).labels
  if (labels && labels.length > 0) return Array.from(labels, (l) => l.textContent ?? '').join(' ').trim()
  if (el.tagName === 'BUTTON') return (el.textContent ?? '').trim()
  return ''
}

/** Every visible form control, meter, progress bar and button has a name. */
export function expectLabelled(root: ParentNode): void {
  const controls = root.querySelectorAll('input, select, textarea, meter, progress, button, dialog[open]')
  for (const el of controls) {
    if ((el as HTMLElement).closest('dialog:not([open])')) continue
    expect(nameOf(el), `${el.outerHTML.slice(0, 120)} has no accessible name`).not.toBe('')
  }
}

/** What the panel shows contains no protocol vocabulary. */
export function expectPlainWords(root: HTMLElement): void {
  const text = root.innerText + ' ' + Array.from(root.querySelectorAll('[aria-label]'), (e) => e.getAttribute('aria-label')).join(' ')
  expect(text).not.toMatch(JARGON)
}

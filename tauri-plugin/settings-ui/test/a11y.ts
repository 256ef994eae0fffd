/**
 * Accessibility and wording checks shared by the panel's tests: axe-core's
 * WCAG rules over what is on screen, every control has an accessible name,
 * and nothing a person reads uses protocol words.
 */
import axe from 'axe-core'
import { expect } from 'vitest'

/** axe-core (WCAG 2.x A and AA rules) finds no violation in `root`. */
export async function expectNoAxeViolations(root: Element): Promise<void> {
  const result = await axe.run(root, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
    rules: {
      // The panel is a part of a page, not a page: no <main>/<h1> of its own.
      region: { enabled: false },
      'page-has-heading-one': { enabled: false },
      'landmark-one-main': { enabled: false }
    }
  })
  const found = result.violations.map(
    (v) => `${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`
  )
  expect(found).toEqual([])
}

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

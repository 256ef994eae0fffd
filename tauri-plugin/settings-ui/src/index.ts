/**
 * The sealsync settings panel: drop `<SyncSettings />` into a settings page.
 * Its sections are exported too, for an app that lays out its own page.
 */
export { default as SyncSettings } from './SyncSettings.svelte'
export { default as StatusSection } from './StatusSection.svelte'
export { default as DevicesSection } from './DevicesSection.svelte'
export { default as ChangePassphraseSection } from './ChangePassphraseSection.svelte'
export { default as RecoveryKeySection } from './RecoveryKeySection.svelte'
export { default as RotateKeySection } from './RotateKeySection.svelte'
export { default as PassphraseFields } from './PassphraseFields.svelte'
export { default as RecoveryKeyNotice } from './RecoveryKeyNotice.svelte'
export { default as ConfirmDialog } from './ConfirmDialog.svelte'
export { errorText, stateText } from './messages'

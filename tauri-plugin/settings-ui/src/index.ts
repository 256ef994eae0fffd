/** The sealsync settings panel: drop `<SyncSettings />` into a settings page. */
export { default as SyncSettings } from './SyncSettings.svelte'
export { default as PassphraseFields } from './PassphraseFields.svelte'
export { default as ConfirmDialog } from './ConfirmDialog.svelte'
export { errorText, stateText } from './messages'

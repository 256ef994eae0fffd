//! Generates the plugin's permissions (one allow/deny pair per command) and
//! its permission schema, from COMMANDS.

const COMMANDS: &[&str] = &[
    "status",
    "passphrase_strength",
    "enable",
    "disable",
    "sync_now",
    "devices",
    "revoke_device",
    "change_passphrase",
    "new_recovery_key",
    "rotate_key",
    "unlock",
    "create",
    "update",
    "delete",
    "get",
    "list",
];

fn main() {
    tauri_plugin::Builder::new(COMMANDS).build();
}

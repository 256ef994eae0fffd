//! `schema`: the schema version the database is at and the one this binary
//! expects, without migrating, so an operator can tell before an upgrade
//! (or after a restore) whether `migrate` has work to do.

use super::AdminError;
use crate::store::Store;

/// Describes the two versions and what to do about a difference.
pub async fn schema<S: Store>(store: &S) -> Result<String, AdminError> {
    let versions = store.schema_versions().await?;
    let verdict = match versions.applied {
        None => "the database has never been migrated: run `sealsync-server migrate`".to_owned(),
        Some(applied) if applied == versions.expected => "up to date".to_owned(),
        Some(applied) if applied < versions.expected => {
            "behind this binary: `sealsync-server migrate` (or starting the server) applies the rest".to_owned()
        }
        Some(_) => "ahead of this binary (a newer release migrated it): run the newer binary".to_owned(),
    };
    Ok(format!(
        "schema applied: {}\nschema expected by this binary: {}\n{verdict}",
        versions.applied.map_or_else(|| "none".to_owned(), |v| v.to_string()),
        versions.expected
    ))
}

/// Refuses to work on a database whose schema is not the binary's.
pub async fn require_current<S: Store>(store: &S) -> Result<(), AdminError> {
    let versions = store.schema_versions().await?;
    if versions.applied == Some(versions.expected) {
        return Ok(());
    }
    Err(AdminError::SchemaNotCurrent {
        applied: versions.applied.map_or_else(|| "none".to_owned(), |v| v.to_string()),
        expected: versions.expected,
    })
}

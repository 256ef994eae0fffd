//! `accounts` and `delete-account`: what an operator may know about the
//! accounts on the server (id, when created, devices, envelopes, bytes
//! stored, last activity: never a name or anything sealed), and removing one
//! through the same store call as `DELETE /v1/account`.

use std::io::{BufRead, IsTerminal, Write};

use sealsync_envelope::AccountId;

use super::AdminError;
use crate::store::Store;
use crate::store::operator::AccountSummary;

/// The account list: one line per account under a header, or JSON.
pub async fn list<S: Store>(store: &S, json: bool) -> Result<String, AdminError> {
    let accounts = store.account_summaries().await?;
    if json {
        return Ok(serde_json::to_string_pretty(&accounts).unwrap_or_default());
    }
    let mut out = format!(
        "{:<36}  {:<20}  {:>7}  {:>9}  {:>12}  {:<20}\n",
        "account", "created (UTC)", "devices", "envelopes", "bytes", "last activity (UTC)"
    );
    for a in &accounts {
        out.push_str(&format!(
            "{:<36}  {:<20}  {:>7}  {:>9}  {:>12}  {:<20}\n",
            a.id.to_string(),
            utc(a.created_at),
            a.devices,
            a.envelopes,
            a.stored_bytes,
            a.last_activity.map_or_else(|| "-".to_owned(), utc)
        ));
    }
    out.push_str(&format!("{} accounts\n", accounts.len()));
    Ok(out)
}

/// Deletes the account and every row of it, after the operator confirms on
/// a terminal (or passed `--yes`); returns what was deleted.
pub async fn delete<S: Store>(store: &S, account: &str, yes: bool) -> Result<AccountSummary, AdminError> {
    let id: AccountId = account.parse().map_err(|_| AdminError::BadAccountId(account.to_owned()))?;
    let summary = store
        .account_summaries()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| AdminError::NoSuchAccount(account.to_owned()))?;
    if !yes {
        confirm(&summary)?;
    }
    store.delete_account(id).await?;
    tracing::info!(account = %id, "account deleted by the operator");
    Ok(summary)
}

/// Asks on the terminal; refuses when there is none to ask on.
fn confirm(account: &AccountSummary) -> Result<(), AdminError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(AdminError::NotConfirmed("standard input is not a terminal: pass --yes to delete from a script"));
    }
    eprint!(
        "Delete account {} ({} devices, {} envelopes, {} bytes) and everything it stored? \
         This cannot be undone. [y/N] ",
        account.id, account.devices, account.envelopes, account.stored_bytes
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|_| AdminError::NotConfirmed("no answer"))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(AdminError::NotConfirmed("not confirmed; nothing was deleted")),
    }
}

/// Unix ms as `YYYY-MM-DD HH:MM:SS` in UTC (days to civil date: H. Hinnant's
/// algorithm), so the server needs no date crate for one column.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(1_798_761_599_000), "2026-12-31 23:59:59");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00:00");
    }
}

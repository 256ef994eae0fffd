//! How guessable a passphrase is, for the strength meter while the user
//! types it (zxcvbn; score 4 of 4 is what the journal accepts for a new
//! account, PROTOCOL.md §3 and threat-model.md: the server's copy of the
//! wrapped key is an offline-guessing target).

use serde::Serialize;

/// A strength estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very hard to guess).
    #[ts(type = "0 | 1 | 2 | 3 | 4")]
    pub score: u8,
    /// Whether the journal accepts it for a new account.
    pub acceptable: bool,
    /// Why it is weak, if it is.
    pub warning: Option<String>,
    /// How to make it stronger.
    pub suggestions: Vec<String>,
}

/// Estimates `passphrase` by the client library's rule
/// ([`sealsync_client::strength::estimate`]), so the app and the CLI judge
/// passphrases alike.
pub fn estimate(passphrase: &str, context: &[&str]) -> Strength {
    let estimate = sealsync_client::strength::estimate(passphrase, context);
    Strength {
        score: estimate.score,
        acceptable: estimate.acceptable(),
        warning: estimate.warning,
        suggestions: estimate.suggestions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passphrases_are_weak_and_long_ones_pass() {
        let weak = estimate("password1", &[]);
        assert!(!weak.acceptable && weak.score < 2, "{weak:?}");
        assert!(weak.warning.is_some() || !weak.suggestions.is_empty());
        let strong = estimate("correct horse battery staple, end to end", &[]);
        assert!(strong.acceptable, "{strong:?}");
    }
}

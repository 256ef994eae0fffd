//! How guessable a passphrase is, for the strength meter while the user
//! types it (zxcvbn; score 4 of 4 is what the journal accepts for a new
//! account, PROTOCOL.md §3 and threat-model.md: the server's copy of the
//! wrapped key is an offline-guessing target).

use serde::Serialize;

/// The lowest score accepted for a new passphrase.
pub const MIN_SCORE: u8 = 4;

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

/// Estimates `passphrase`'s strength; words an attacker would try first
/// (the app's and the account's names) count as guessable.
pub fn estimate(passphrase: &str, context: &[&str]) -> Strength {
    let mut inputs: Vec<&str> = vec!["sealsync", "journal", "passphrase", "password"];
    inputs.extend(context.iter().copied());
    let entropy = zxcvbn::zxcvbn(passphrase, &inputs);
    let score = u8::from(entropy.score());
    let feedback = entropy.feedback();
    Strength {
        score,
        acceptable: score >= MIN_SCORE,
        warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
        suggestions: feedback.map(|f| f.suggestions().iter().map(ToString::to_string).collect()).unwrap_or_default(),
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

//! Passphrase strength: the rule every new passphrase (account creation,
//! passphrase change, recovery) must pass before anything is derived or
//! sent. The server's database is an offline-guessing target by design
//! (threat-model.md), so a guessable passphrase is the one defence a user
//! can give away; `zxcvbn` estimates how many guesses it takes.

use crate::error::ClientError;
use sealsync_crypto::Passphrase;

/// The lowest acceptable zxcvbn score: 4 of 4, "very unguessable"
/// (at least 10^10 guesses). Each guess costs the attacker one Argon2id
/// (64 MiB, t = 3), so that is years of work per account rather than days.
pub const MIN_SCORE: u8 = 4;

/// Words a suggestion is drawn from: the BIP-39 English list (2,048 common,
/// distinct words), so five words carry 55 bits.
fn words() -> &'static [&'static str; 2048] {
    bip39::Language::English.word_list()
}

/// Five random words, as an example of a strong passphrase.
pub fn suggestion() -> String {
    let bytes: [u8; 10] = sealsync_crypto::primitives::random().unwrap_or([0; 10]);
    bytes
        .chunks(2)
        .map(|pair| words()[usize::from(u16::from_le_bytes([pair[0], pair[1]]) & 0x7ff)])
        .collect::<Vec<_>>()
        .join(" ")
}

/// How guessable a passphrase is (zxcvbn): what a strength meter shows
/// while the user types, and what [`check_new_passphrase`] decides on.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// 0 (guessed at once) to 4 (very hard to guess).
    pub score: u8,
    /// Why it is weak, if it is.
    pub warning: Option<String>,
    /// How to make it stronger.
    pub suggestions: Vec<String>,
    /// log10 of the guesses it takes.
    pub guesses_log10: f64,
}

impl Estimate {
    /// Whether a new passphrase this strong is accepted ([`MIN_SCORE`]).
    pub fn acceptable(&self) -> bool {
        self.score >= MIN_SCORE
    }
}

/// Estimates `typed`; `context` lists words an attacker knows (the account
/// name, the server's host), which count as guessable.
pub fn estimate(typed: &str, context: &[&str]) -> Estimate {
    let mut inputs: Vec<&str> = vec!["sealsync", "journal", "passphrase", "password"];
    inputs.extend(context.iter().copied());
    let entropy = zxcvbn::zxcvbn(typed, &inputs);
    let feedback = entropy.feedback();
    Estimate {
        score: u8::from(entropy.score()),
        warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
        suggestions: feedback.map(|f| f.suggestions().iter().map(ToString::to_string).collect()).unwrap_or_default(),
        guesses_log10: entropy.guesses_log10(),
    }
}

/// Refuses a passphrase that is quick to guess, with the reason and a
/// suggestion (see [`estimate`] for `context`).
pub fn check_new_passphrase(passphrase: &Passphrase, context: &[&str]) -> Result<(), ClientError> {
    // A passphrase is a String inside, so its bytes are UTF-8; no copy is made.
    let typed = std::str::from_utf8(passphrase.expose_secret()).unwrap_or_default();
    let estimate = estimate(typed, context);
    if estimate.acceptable() {
        return Ok(());
    }
    let reason = estimate
        .warning
        .unwrap_or_else(|| format!("it could be guessed in about 10^{:.0} tries", estimate.guesses_log10));
    Err(ClientError::WeakPassphrase {
        reason: reason.trim_end_matches('.').to_owned(),
        advice: estimate.suggestions.join(" "),
        suggestion: suggestion(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<(), ClientError> {
        check_new_passphrase(&Passphrase::new(p.to_owned()).unwrap(), &["me@example.org"])
    }

    #[test]
    fn short_common_and_blank_passphrases_are_refused_with_a_reason() {
        for weak in ["a", "       ", "password1", "correct horse", "me@example.org", "qwertyuiop123"] {
            match check(weak) {
                Err(ClientError::WeakPassphrase { reason, suggestion, .. }) => {
                    assert!(!reason.is_empty(), "{weak:?}");
                    assert_eq!(suggestion.split(' ').count(), 5, "{suggestion}");
                }
                other => panic!("{weak:?} was accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn long_passphrases_and_the_suggestion_pass() {
        // The ones the test suites use.
        for strong in [
            "correct horse battery staple, end to end",
            "correct horse battery staple, benchmarked",
            "a second passphrase, also long enough",
            "a third passphrase, for the sign-out",
        ] {
            check(strong).unwrap();
        }
        check(&suggestion()).unwrap();
    }
}

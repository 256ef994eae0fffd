//! Who is asking, and how often they may test a secret.
//!
//! [`ClientAddr`] is the request's client address, resolved once per request
//! (from the connection, or from `X-Forwarded-For` and its relatives behind a
//! trusted proxy) and counted the way an attacker's supply of addresses is: an
//! IPv4 address alone, an IPv6 address by its /64, the block one subscriber
//! gets. The per-address limit on the account endpoints ([`ClientKey`]) and
//! the guessing limits below both count by it.
//!
//! Every check of a secret that stands for the passphrase (the auth key at
//! login, account deletion and every key change, and the recovery key's auth
//! key at recovery) goes through [`SecretCheck`], the only
//! code that compares such hashes. Taking it as an extractor costs one attempt
//! from the client address's budget (before the token or the body is looked
//! at); [`SecretCheck::verify`] then takes one from the account's budget,
//! whatever the address, before it compares anything. So:
//!
//! - one address cannot guess quickly, at one account or at many;
//! - many addresses (a distributed guesser) together get the account's budget:
//!   `account_auth_burst` checks, then one per `account_auth_interval`
//!   (default 10, then one every 10 minutes: at most 154 in the first day);
//! - a right key is refused like a wrong one while a budget is empty, so a 429
//!   reveals nothing about the guess; an unknown account name has a budget of
//!   its own, so a 429 reveals nothing about the name either;
//! - the budget refills, so nobody is locked out for good: while someone keeps
//!   guessing, the owner's new sign-ins and account deletion compete with the
//!   guesses for each refilled check, and devices already signed in keep
//!   syncing (their tokens are not counted).
//!
//! Budgets live in this process's memory (each server instance and each
//! restart has its own); keys whose budget is full again are forgotten every
//! minute (`app::forget_full_budgets`), so the maps hold only recent guessers.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock, QuantaInstant};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota};
use sealsync_envelope::AccountId;
use sha2::{Digest, Sha256};
use tower_governor::GovernorError;
use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor};

use crate::app::Settings;
use crate::auth::hashes_match;
use crate::error::ApiError;

/// The client address a request counts against: an IPv4 address, or the /64
/// of an IPv6 address (an IPv4-mapped IPv6 address counts as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address as it is counted.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => Self(IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into())),
        }
    }
}

/// Middleware: resolves the request's [`ClientAddr`] into its extensions, from
/// the connection, or from the forwarding headers when `trusted` (the first
/// address of `X-Forwarded-For`, then `X-Real-IP`, then `Forwarded`). A
/// request whose address cannot be told gets none, and the rate-limited
/// endpoints refuse it.
pub async fn resolve_client_addr(State(trusted): State<bool>, mut request: Request, next: Next) -> Response {
    let ip = if trusted { SmartIpKeyExtractor.extract(&request) } else { PeerIpKeyExtractor.extract(&request) };
    if let Ok(ip) = ip {
        request.extensions_mut().insert(ClientAddr::of(ip));
    }
    next.run(request).await
}

/// The key of the per-address rate limit on the account endpoints: the
/// request's [`ClientAddr`].
#[derive(Debug, Clone, Copy)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = ClientAddr;

    fn extract<T>(&self, request: &axum::http::Request<T>) -> Result<Self::Key, GovernorError> {
        request.extensions().get::<ClientAddr>().copied().ok_or(GovernorError::UnableToExtractKey)
    }
}

/// What a limiter's budget is keyed by for an account: its id, or for a name
/// with no account, a stand-in derived from the name (so unknown names are
/// limited exactly like real ones, and a 429 does not tell them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountKey([u8; 16]);

/// `"sealsync/v1/unknown-account"`: label of the stand-in key of an unknown name.
const LABEL_UNKNOWN_ACCOUNT: &[u8] = b"sealsync/v1/unknown-account";

impl AccountKey {
    /// An existing account.
    pub fn account(id: AccountId) -> Self {
        Self(*id.as_bytes())
    }

    /// A canonical account name that has no account: the first 16 bytes of
    /// `SHA-256("sealsync/v1/unknown-account" || name)`. It never leaves the
    /// process; hitting a real account's id with it would take a 2^128 search.
    pub fn unknown_name(name: &str) -> Self {
        let digest = Sha256::new().chain_update(LABEL_UNKNOWN_ACCOUNT).chain_update(name.as_bytes()).finalize();
        Self(digest[..16].try_into().expect("SHA-256 is 32 bytes"))
    }
}

/// The guessing budgets of one server process.
#[derive(Debug)]
pub struct SecretGuard {
    per_address: DefaultKeyedRateLimiter<ClientAddr>,
    per_account: DefaultKeyedRateLimiter<AccountKey>,
}

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least one")
}

impl SecretGuard {
    /// Budgets as `settings` set them: per address `auth_burst` checks, then
    /// `auth_per_minute`; per account `account_auth_burst`, then one per
    /// `account_auth_interval`.
    pub fn new(settings: &Settings) -> Arc<Self> {
        let per_minute = Duration::from_millis(60_000 / u64::from(settings.auth_per_minute.max(1)));
        let address = Quota::with_period(per_minute).expect("a non-zero period");
        let account = Quota::with_period(settings.account_auth_interval.max(Duration::from_millis(1)))
            .expect("a non-zero period");
        Arc::new(Self {
            per_address: DefaultKeyedRateLimiter::keyed(address.allow_burst(at_least_one(settings.auth_burst))),
            per_account: DefaultKeyedRateLimiter::keyed(account.allow_burst(at_least_one(settings.account_auth_burst))),
        })
    }

    /// Forgets every key whose budget is full again.
    pub fn forget_full_budgets(&self) {
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
    }
}

/// Seconds until a refused attempt could succeed, rounded up.
fn retry_after(refused: &NotUntil<QuantaInstant>) -> u64 {
    let wait = refused.wait_time_from(DefaultClock::default().now());
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Extractor: the request may test one secret. Taking it spends one attempt of
/// the client address's budget (429 `rate_limited` when it is empty); then
/// [`SecretCheck::verify`] compares, after spending one of the account's.
/// Put it before the token and body extractors, so the limit comes first.
#[derive(Debug, Clone)]
pub struct SecretCheck {
    guard: Arc<SecretGuard>,
}

impl<S: Send + Sync> FromRequestParts<S> for SecretCheck {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let guard = parts.extensions.get::<Arc<SecretGuard>>().cloned().ok_or_else(|| {
            tracing::error!("the router was built without a SecretGuard");
            ApiError::internal()
        })?;
        let address = parts.extensions.get::<ClientAddr>().copied().ok_or_else(|| {
            ApiError::bad_request("unknown_client_address", "the client address could not be determined")
        })?;
        guard.per_address.check_key(&address).map_err(|refused| ApiError::rate_limited(retry_after(&refused)))?;
        Ok(Self { guard })
    }
}

impl SecretCheck {
    /// Spends one attempt of `account`'s budget (429 `rate_limited` when it is
    /// empty, whether or not the secret is right), then compares the presented
    /// hash with the expected one in constant time (401
    /// `invalid_credentials` when they differ).
    pub fn verify(&self, account: AccountKey, presented: &[u8; 32], expected: &[u8; 32]) -> Result<(), ApiError> {
        self.guard
            .per_account
            .check_key(&account)
            .map_err(|refused| ApiError::account_rate_limited(retry_after(&refused)))?;
        if hashes_match(presented, expected) { Ok(()) } else { Err(ApiError::invalid_credentials()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientAddr::of("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(a, ClientAddr::of("2001:db8:1:2:bbbb::9".parse().unwrap()));
        assert_eq!(a.0, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_ne!(a, ClientAddr::of("2001:db8:1:3::1".parse().unwrap()));
        let v4 = ClientAddr::of("192.0.2.7".parse().unwrap());
        assert_eq!(v4, ClientAddr::of("::ffff:192.0.2.7".parse().unwrap()));
        assert_ne!(v4, ClientAddr::of("192.0.2.8".parse().unwrap()));
    }

    #[test]
    fn unknown_names_have_stable_distinct_keys() {
        assert_eq!(AccountKey::unknown_name("a@b.c"), AccountKey::unknown_name("a@b.c"));
        assert_ne!(AccountKey::unknown_name("a@b.c"), AccountKey::unknown_name("b@b.c"));
    }
}

//! The server's HTTP API, as a device calls it: URL policy (no plain HTTP
//! except to this machine, no redirects), problem documents turned into
//! [`ClientError`]s, retries with backoff for the calls that are safe to
//! repeat, and a size cap on every answer, enforced while it streams in.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use sealsync_envelope::dto::{
    ApprovePairingRequest, ApproverPairingView, ChangePassphraseRequest, ClaimPairingRequest, ConfirmPairingRequest,
    CreatePairingRequest, CreatePairingResponse, DeleteAccountRequest, DeviceListEntry, EnvelopeBytes, KeysResponse,
    LoginParamsRequest, LoginParamsResponse, LoginRequest, MetaResponse, NewDevicePairingView, PullAfter, PullResponse,
    PushRequest, PushResponse, RecoverKeysRequest, RecoverKeysResponse, RecoverRequest, RegisterRequest,
    RenameDeviceRequest, RotateRequest, SessionResponse, SetRecoveryRequest, UnlockRequest, UnlockResponse, from_cbor,
    to_cbor,
};
use sealsync_envelope::{Cursor, DeviceId};
use serde::de::DeserializeOwned;

use crate::error::ClientError;

/// Attempts for a call that is safe to repeat (within [`Network::deadline`]).
pub const ATTEMPTS: u32 = 4;
/// Longest wait for a connection to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence within one attempt (no byte of the answer for this long):
/// a server that accepts connections and never answers fails in seconds,
/// while a large answer that keeps arriving is not cut off.
const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest one attempt may take in all (a bulk upload on a slow link).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Default overall deadline of one call, its retries included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
/// First backoff; doubled after each failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Largest JSON answer accepted (meta, sessions, the device list).
pub(crate) const MAX_JSON_ANSWER: usize = 1 << 20;
/// Largest answer to a push: a result per envelope, a few dozen bytes each.
pub(crate) const MAX_PUSH_ANSWER: usize = 1 << 20;
/// Largest error answer (a problem document) accepted.
pub(crate) const MAX_PROBLEM_ANSWER: usize = 64 << 10;

/// Largest answer to a pull of `limit` envelopes: that many of the largest
/// envelopes, each with its CBOR framing (a map of `seq` and the byte
/// string, under 64 bytes), and the page's own.
pub(crate) fn pull_answer_cap(limit: u32) -> usize {
    limit as usize * (sealsync_envelope::MAX_ENVELOPE_LEN + 64) + 1024
}

/// A checked server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(Url);

impl ServerUrl {
    /// Accepts `https://…`, and `http://…` only to a loopback host unless
    /// `allow_insecure_http`: anything else would send tokens in the clear.
    pub fn parse(url: &str, allow_insecure_http: bool) -> Result<Self, ClientError> {
        let invalid = |why: String| ClientError::InvalidServerUrl(why);
        let parsed = Url::parse(url.trim()).map_err(|e| invalid(format!("{url:?} is not a URL: {e}")))?;
        let host = parsed.host_str().ok_or_else(|| invalid(format!("{url:?} has no host")))?;
        match parsed.scheme() {
            "https" => {}
            "http" => {
                let bare = host.trim_start_matches('[').trim_end_matches(']');
                let loopback = bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
                if !loopback && !allow_insecure_http {
                    return Err(invalid(format!(
                        "refusing plain http:// to {host}: tokens and keys would cross the network unencrypted; \
                         use https://, or pass --allow-insecure-http if you really mean it"
                    )));
                }
            }
            other => return Err(invalid(format!("unsupported URL scheme {other:?}: use https://"))),
        }
        let mut base = parsed;
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self(base))
    }

    /// The URL as stored and shown.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    fn join(&self, path: &str) -> Url {
        self.0.join(path.trim_start_matches('/')).expect("API paths are relative URLs")
    }
}

/// A retry about to happen, for a person waiting: "retrying in N s
/// (attempt k of n)".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Retrying {
    /// Why the last attempt failed.
    pub error: String,
    /// Seconds until the next attempt.
    pub in_secs: u64,
    /// The next attempt's number (2 for the first retry).
    pub attempt: u32,
    /// Attempts at most.
    pub attempts: u32,
}

/// Told about each retry (e.g. to print it).
pub type RetryObserver = std::sync::Arc<dyn Fn(&Retrying) + Send + Sync>;

/// How long network calls may take, and who hears about retries.
#[derive(Clone)]
pub struct Network {
    /// Overall deadline of one call, its retries included: no attempt starts
    /// that could not finish before it.
    pub deadline: Duration,
    /// Told before each retry.
    pub on_retry: Option<RetryObserver>,
}

impl Default for Network {
    fn default() -> Self {
        Self { deadline: DEFAULT_DEADLINE, on_retry: None }
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("deadline", &self.deadline).finish_non_exhaustive()
    }
}

/// The HTTP client a journal keeps, so that one sync after another reuses
/// its connections instead of opening (and setting up TLS for) new ones.
#[derive(Debug, Clone)]
pub(crate) struct Http(reqwest::Client, Network);

impl Http {
    #[cfg(test)]
    pub(crate) fn new() -> Result<Self, ClientError> {
        Self::with(Network::default(), Vec::new())
    }

    /// A client that trusts `extra_roots` besides the system's certificate
    /// authorities (see [`load_ca_file`]); verification itself is never off.
    pub(crate) fn with(network: Network, extra_roots: Vec<reqwest::Certificate>) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .tls_certs_merge(extra_roots)
            .connect_timeout(CONNECT_TIMEOUT.min(network.deadline))
            // At least three attempts fit in the deadline.
            .read_timeout(READ_TIMEOUT.min(network.deadline / 3))
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("sealsync/", env!("CARGO_PKG_VERSION")))
            // A redirect could lead to plain http:// elsewhere; the API never redirects.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Ok(Self(client, network))
    }
}

/// Reads a PEM file of certificate authorities to trust besides the system's
/// (`--ca-file`, `SEALSYNC_CA_FILE`): a self-hosted server behind a proxy
/// whose certificate a private CA signed. A file that cannot be read, or
/// holds no certificate, is refused.
pub(crate) fn load_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let what = format!("cannot use the CA file {}", path.display());
    let pem = std::fs::read(path).map_err(ClientError::io(what.clone()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| ClientError::io(what.clone())(std::io::Error::other(e.to_string())))?;
    if certificates.is_empty() {
        return Err(ClientError::io(what)(std::io::Error::other("it holds no PEM certificate")));
    }
    Ok(certificates)
}

/// A client of one server.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    base: ServerUrl,
    http: reqwest::Client,
    network: Network,
}

/// Whether a failed call may be tried again, and after how long at least.
enum Failure {
    Retry(ClientError, Option<Duration>),
    Fatal(ClientError),
}

impl Api {
    pub(crate) fn new(base: ServerUrl, http: &Http) -> Self {
        Self { base, http: http.0.clone(), network: http.1.clone() }
    }

    /// One request, no retry; an answer larger than `cap` bytes (an error
    /// answer: [`MAX_PROBLEM_ANSWER`]) is refused.
    async fn once(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&'static str, Vec<u8>)>,
        cap: usize,
    ) -> Result<Vec<u8>, Failure> {
        let mut request = self.http.request(method, self.base.join(path));
        if let Some(token) = token {
            request = match token.strip_prefix(PAIRING_SECRET) {
                Some(secret) => request.header("authorization", format!("Pairing {secret}")),
                None => request.bearer_auth(token),
            };
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Err(Failure::Retry(ClientError::Network(without_url(&e)), None)),
        };
        let status = response.status();
        let retry_after =
            response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).map(Duration::from_secs);
        let cap = if status.is_success() { cap } else { cap.min(MAX_PROBLEM_ANSWER) };
        let bytes = read_capped(response, cap).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let code = problem["code"].as_str().unwrap_or("unknown").to_owned();
        let mut detail = problem["detail"].as_str().unwrap_or(status.canonical_reason().unwrap_or("error")).to_owned();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Say when, so a person (or script) knows how long to wait.
            let wait = retry_after.map_or(60, |d| d.as_secs().max(1));
            detail = format!("{detail}; too many requests: try again in {wait} s");
        }
        let error = match (status, code.as_str()) {
            // This device's own token, once valid: only deleting the
            // account (every device row with it) makes it unknown.
            (StatusCode::UNAUTHORIZED, "invalid_token") => ClientError::AccountDeleted,
            (StatusCode::UNAUTHORIZED, "device_revoked") => ClientError::SignedOut,
            (StatusCode::UNAUTHORIZED, "invalid_credentials") => ClientError::WrongPassphrase,
            (StatusCode::FORBIDDEN, "registration_closed") => ClientError::RegistrationClosed,
            _ => ClientError::Server {
                status: status.as_u16(),
                code,
                detail,
                retry_after: retry_after.map(|wait| wait.as_secs()),
            },
        };
        // A full disk on the server does not clear in seconds: say so at once
        // (what was refused stays queued for a later sync).
        let transient = (status.is_server_error() && status != StatusCode::INSUFFICIENT_STORAGE)
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        Err(if transient { Failure::Retry(error, retry_after) } else { Failure::Fatal(error) })
    }

    /// A request that is safe to repeat, with exponential backoff.
    async fn repeatable(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&'static str, Vec<u8>)>,
        cap: usize,
    ) -> Result<Vec<u8>, ClientError> {
        let mut backoff = FIRST_BACKOFF;
        let started = tokio::time::Instant::now();
        let deadline = self.network.deadline;
        for attempt in 1..=ATTEMPTS {
            match self.once(method.clone(), path, token, body.clone(), cap).await {
                Ok(bytes) => return Ok(bytes),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retry(error, _)) if attempt == ATTEMPTS => return Err(gave_up(error, attempt, started)),
                Err(Failure::Retry(error, wait)) => {
                    let wait = wait.unwrap_or(backoff).max(backoff).min(Duration::from_secs(30));
                    // A retry that could not even start before the deadline is not made.
                    if started.elapsed() + wait >= deadline {
                        return Err(gave_up(error, attempt, started));
                    }
                    if let Some(observer) = &self.network.on_retry {
                        observer(&Retrying {
                            error: error.to_string(),
                            in_secs: wait.as_secs_f64().ceil() as u64,
                            attempt: attempt + 1,
                            attempts: ATTEMPTS,
                        });
                    }
                    tokio::time::sleep(wait).await;
                    backoff *= 2;
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// A request that must not be repeated blindly (it creates something).
    async fn single(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&'static str, Vec<u8>)>,
        cap: usize,
    ) -> Result<Vec<u8>, ClientError> {
        self.once(method, path, token, body, cap).await.map_err(|f| match f {
            Failure::Retry(e, _) | Failure::Fatal(e) => e,
        })
    }

    pub(crate) async fn meta(&self) -> Result<MetaResponse, ClientError> {
        json(&self.repeatable(Method::GET, "/v1/meta", None, None, MAX_JSON_ANSWER).await?)
    }

    pub(crate) async fn login_params(&self, account_name: &str) -> Result<LoginParamsResponse, ClientError> {
        let body = json_body(&LoginParamsRequest { account_name: account_name.to_owned() });
        json(&self.repeatable(Method::POST, "/v1/login/params", None, Some(body), MAX_JSON_ANSWER).await?)
    }

    pub(crate) async fn register(&self, request: &RegisterRequest) -> Result<SessionResponse, ClientError> {
        json(&self.single(Method::POST, "/v1/accounts", None, Some(json_body(request)), MAX_JSON_ANSWER).await?)
    }

    pub(crate) async fn login(&self, request: &LoginRequest) -> Result<SessionResponse, ClientError> {
        json(&self.single(Method::POST, "/v1/login", None, Some(json_body(request)), MAX_JSON_ANSWER).await?)
    }

    /// Push is safe to repeat: the envelopes are re-sent byte for byte (and
    /// a page asked for again is read again). With `pull`, the answer also
    /// carries the page after the device's cursor (PROTOCOL.md §8.2), and
    /// may be as large as a pull of that many envelopes.
    pub(crate) async fn push(
        &self,
        token: &str,
        envelopes: Vec<Vec<u8>>,
        pull: Option<PullAfter>,
    ) -> Result<PushResponse, ClientError> {
        let request = PushRequest { envelopes: envelopes.into_iter().map(EnvelopeBytes).collect(), pull };
        let body = Some(("application/cbor", to_cbor(&request)));
        let cap = MAX_PUSH_ANSWER
            + pull.map_or(0, |p| pull_answer_cap(p.limit.map_or(u32::MAX, |l| u32::try_from(l).unwrap_or(u32::MAX))));
        let bytes = self.repeatable(Method::POST, "/v1/sync/push", Some(token), body, cap).await?;
        from_cbor(&bytes, cap).map_err(|e| ClientError::ProtocolViolation(format!("bad push answer: {e}")))
    }

    pub(crate) async fn pull(&self, token: &str, after: Cursor, limit: u32) -> Result<PullResponse, ClientError> {
        let path = format!("/v1/sync/pull?after={}&limit={limit}", after.0);
        let cap = pull_answer_cap(limit);
        let bytes = self.repeatable(Method::GET, &path, Some(token), None, cap).await?;
        from_cbor(&bytes, cap).map_err(|e| ClientError::ProtocolViolation(format!("bad pull answer: {e}")))
    }

    /// Asks the server to replace the account's log identity `seen`
    /// (PROTOCOL.md §8.2, "Restored servers"); safe to repeat: a second call
    /// finds it replaced and changes nothing.
    pub(crate) async fn renew_log(
        &self,
        token: &str,
        seen: sealsync_envelope::dto::LogId,
    ) -> Result<sealsync_envelope::dto::LogState, ClientError> {
        let body = to_cbor(&sealsync_envelope::dto::RenewLogRequest { log_id: seen });
        // About 40 bytes per device that ever pushed (revoked ones too): the
        // same cap as any other answer of that size.
        let cap = MAX_JSON_ANSWER;
        let bytes = self
            .repeatable(Method::POST, "/v1/sync/log/renew", Some(token), Some(("application/cbor", body)), cap)
            .await?;
        from_cbor(&bytes, cap).map_err(|e| ClientError::ProtocolViolation(format!("bad log answer: {e}")))
    }

    pub(crate) async fn devices(&self, token: &str) -> Result<Vec<DeviceListEntry>, ClientError> {
        json(&self.repeatable(Method::GET, "/v1/devices", Some(token), None, MAX_JSON_ANSWER).await?)
    }

    /// Replaces a device's sealed name.
    pub(crate) async fn rename_device(
        &self,
        token: &str,
        device: DeviceId,
        sealed: Vec<u8>,
    ) -> Result<(), ClientError> {
        let body = json_body(&RenameDeviceRequest { encrypted_name: sealed });
        let path = format!("/v1/devices/{device}/name");
        self.repeatable(Method::PUT, &path, Some(token), Some(body), MAX_JSON_ANSWER).await.map(drop)
    }

    /// Revokes a device with a single attempt (for `sync disable`, which must not hang offline).
    pub(crate) async fn revoke_once(&self, token: &str, device: DeviceId) -> Result<(), ClientError> {
        self.single(Method::DELETE, &format!("/v1/devices/{device}"), Some(token), None, MAX_JSON_ANSWER)
            .await
            .map(drop)
    }

    pub(crate) async fn revoke(&self, token: &str, device: DeviceId) -> Result<(), ClientError> {
        let path = format!("/v1/devices/{device}");
        self.repeatable(Method::DELETE, &path, Some(token), None, MAX_JSON_ANSWER).await.map(drop)
    }

    /// Opens a pairing for a new device (PROTOCOL.md §6.4, §8.3).
    pub(crate) async fn create_pairing(
        &self,
        request: &CreatePairingRequest,
    ) -> Result<CreatePairingResponse, ClientError> {
        json(&self.single(Method::POST, "/v1/pairings", None, Some(json_body(request)), MAX_JSON_ANSWER).await?)
    }

    /// The pairing as the new device sees it (with its pairing secret).
    pub(crate) async fn pairing_for_new_device(
        &self,
        pairing: &str,
        secret: &str,
    ) -> Result<NewDevicePairingView, ClientError> {
        let auth = format!("{PAIRING_SECRET}{secret}");
        json(
            &self
                .repeatable(Method::GET, &format!("/v1/pairings/{pairing}"), Some(&auth), None, MAX_JSON_ANSWER)
                .await?,
        )
    }

    /// The pairing as the approving device sees it (with its token).
    pub(crate) async fn pairing_for_approver(
        &self,
        token: &str,
        pairing: &str,
    ) -> Result<ApproverPairingView, ClientError> {
        json(
            &self
                .repeatable(Method::GET, &format!("/v1/pairings/{pairing}"), Some(token), None, MAX_JSON_ANSWER)
                .await?,
        )
    }

    pub(crate) async fn claim_pairing(
        &self,
        token: &str,
        pairing: &str,
        request: &ClaimPairingRequest,
    ) -> Result<(), ClientError> {
        let path = format!("/v1/pairings/{pairing}/claim");
        self.single(Method::POST, &path, Some(token), Some(json_body(request)), MAX_JSON_ANSWER).await.map(drop)
    }

    pub(crate) async fn confirm_pairing(
        &self,
        secret: &str,
        pairing: &str,
        request: &ConfirmPairingRequest,
    ) -> Result<(), ClientError> {
        let (auth, path) = (format!("{PAIRING_SECRET}{secret}"), format!("/v1/pairings/{pairing}/confirm"));
        self.single(Method::POST, &path, Some(&auth), Some(json_body(request)), MAX_JSON_ANSWER).await.map(drop)
    }

    pub(crate) async fn approve_pairing(
        &self,
        token: &str,
        pairing: &str,
        request: &ApprovePairingRequest,
    ) -> Result<(), ClientError> {
        let path = format!("/v1/pairings/{pairing}/approve");
        self.single(Method::POST, &path, Some(token), Some(json_body(request)), MAX_JSON_ANSWER).await.map(drop)
    }

    /// Burns a pairing (a confirmation did not match, or the user declined).
    /// `credential` is the approver's token, or the new device's pairing
    /// secret as [`pairing_credential`] makes it.
    pub(crate) async fn fail_pairing(&self, credential: &str, pairing: &str) -> Result<(), ClientError> {
        self.single(Method::POST, &format!("/v1/pairings/{pairing}/fail"), Some(credential), None, MAX_JSON_ANSWER)
            .await
            .map(drop)
    }

    /// The account's key state (PROTOCOL.md §8.4).
    pub(crate) async fn keys(&self, token: &str) -> Result<KeysResponse, ClientError> {
        json(&self.repeatable(Method::GET, "/v1/keys", Some(token), None, MAX_JSON_ANSWER).await?)
    }

    /// The current key wrapped under the passphrase, on proof of it.
    pub(crate) async fn unlock(&self, token: &str, request: &UnlockRequest) -> Result<UnlockResponse, ClientError> {
        json(
            &self
                .single(Method::POST, "/v1/keys/unlock", Some(token), Some(json_body(request)), MAX_JSON_ANSWER)
                .await?,
        )
    }

    pub(crate) async fn change_passphrase(
        &self,
        token: &str,
        request: &ChangePassphraseRequest,
    ) -> Result<(), ClientError> {
        self.single(Method::POST, "/v1/account/passphrase", Some(token), Some(json_body(request)), MAX_JSON_ANSWER)
            .await
            .map(drop)
    }

    pub(crate) async fn set_recovery(&self, token: &str, request: &SetRecoveryRequest) -> Result<(), ClientError> {
        self.single(Method::PUT, "/v1/account/recovery", Some(token), Some(json_body(request)), MAX_JSON_ANSWER)
            .await
            .map(drop)
    }

    pub(crate) async fn rotate(&self, token: &str, request: &RotateRequest) -> Result<(), ClientError> {
        self.single(Method::POST, "/v1/account/rotate", Some(token), Some(json_body(request)), MAX_JSON_ANSWER)
            .await
            .map(drop)
    }

    /// Deletes the account and every row of it, on proof of the auth key (PROTOCOL.md §8).
    pub(crate) async fn delete_account(&self, token: &str, request: &DeleteAccountRequest) -> Result<(), ClientError> {
        self.single(Method::DELETE, "/v1/account", Some(token), Some(json_body(request)), MAX_JSON_ANSWER)
            .await
            .map(drop)
    }

    pub(crate) async fn recover_keys(&self, request: &RecoverKeysRequest) -> Result<RecoverKeysResponse, ClientError> {
        json(&self.single(Method::POST, "/v1/recover/keys", None, Some(json_body(request)), MAX_JSON_ANSWER).await?)
    }

    pub(crate) async fn recover(&self, request: &RecoverRequest) -> Result<SessionResponse, ClientError> {
        json(&self.single(Method::POST, "/v1/recover", None, Some(json_body(request)), MAX_JSON_ANSWER).await?)
    }
}

/// The last error of a call that is given up, saying how long it tried.
fn gave_up(error: ClientError, attempts: u32, started: tokio::time::Instant) -> ClientError {
    match error {
        ClientError::Network(detail) => ClientError::Network(format!(
            "{detail} (gave up after {attempts} attempt(s) in {} s)",
            started.elapsed().as_secs()
        )),
        other => other,
    }
}

/// Reads an answer's body, refusing it as soon as it is known to be larger
/// than `cap` bytes: from its `Content-Length` before any of it is read, or
/// while it streams in, so a server cannot make the client hold more than
/// `cap` bytes (plus one chunk) of it.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, Failure> {
    let too_large = || Failure::Fatal(ClientError::ResponseTooLarge { limit: cap as u64 });
    let announced = response.content_length();
    if announced.is_some_and(|length| length > cap as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(announced.unwrap_or(0) as usize);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > cap => return Err(too_large()),
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(e) => return Err(Failure::Retry(ClientError::Network(without_url(&e)), None)),
        }
    }
}

/// Marks a credential as a pairing secret (`Authorization: Pairing SECRET`)
/// rather than a device token (`Bearer`).
const PAIRING_SECRET: &str = "pairing-secret:";

/// A new device's pairing secret as a credential for [`Api::fail_pairing`].
pub(crate) fn pairing_credential(secret: &str) -> String {
    format!("{PAIRING_SECRET}{secret}")
}

fn json_body<T: serde::Serialize>(value: &T) -> (&'static str, Vec<u8>) {
    ("application/json", serde_json::to_vec(value).expect("requests serialize"))
}

fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ClientError::ProtocolViolation(format!("an answer that does not parse: {e}")))
}

/// reqwest's error text without the URL (which could carry credentials).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "the server did not answer in time (it accepted the connection but sent nothing)"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // The whole chain, to recognise causes a person can act on.
    let mut chain = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push_str(&format!(" {cause}"));
        source = cause.source();
    }
    if chain.contains("InvalidContentType")
        || chain.contains("corrupt message")
        || chain.contains("wrong version number")
    {
        return "the TLS handshake failed: the server at this address answers plain HTTP, not HTTPS (is it the \
                sealsync server itself, without the TLS proxy in front? use https:// through the proxy, or \
                http:// for a server on this machine)"
            .to_owned();
    }
    match std::error::Error::source(error) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A loopback server that answers every connection with `head` and then
    /// `body` bytes of filler (chunked unless `head` names a length), as
    /// fast as the client reads them, and counts the body bytes it managed
    /// to hand to the kernel: the client's memory cannot hold more than
    /// that (plus the socket buffers between them).
    fn flood(head: impl Into<String>, body: u64) -> (ServerUrl, Arc<AtomicU64>) {
        let head: Arc<str> = head.into().into();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = ServerUrl::parse(&format!("http://{}", listener.local_addr().unwrap()), false).unwrap();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let (counter, head) = (counter.clone(), head.clone());
                std::thread::spawn(move || {
                    let mut request = [0u8; 8192];
                    let _ = stream.read(&mut request);
                    let chunked = !head.to_ascii_lowercase().contains("content-length");
                    let framing = if chunked { "transfer-encoding: chunked\r\n" } else { "" };
                    if write!(stream, "{head}{framing}\r\n").is_err() {
                        return;
                    }
                    if body == 0 {
                        // Hold the connection open, as a slow server would: a
                        // client that waits for a body gets it cut off here.
                        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        let _ = stream.read(&mut request);
                        return;
                    }
                    let filler = vec![b'x'; 64 * 1024];
                    let mut left = body;
                    while left > 0 {
                        let n = left.min(filler.len() as u64) as usize;
                        let written = if chunked {
                            write!(stream, "{n:x}\r\n")
                                .and_then(|()| stream.write_all(&filler[..n]))
                                .and_then(|()| stream.write_all(b"\r\n"))
                        } else {
                            stream.write_all(&filler[..n])
                        };
                        if written.is_err() {
                            return; // the client hung up
                        }
                        counter.fetch_add(n as u64, Ordering::SeqCst);
                        left -= n as u64;
                    }
                    let _ = stream.write_all(if chunked { b"0\r\n\r\n" } else { b"" });
                });
            }
        });
        (url, sent)
    }

    /// Socket buffers and the HTTP stack's own buffer, between what the
    /// server wrote and what the client holds: a few MiB on loopback.
    const IN_FLIGHT: u64 = 16 << 20;

    fn api(url: ServerUrl) -> Api {
        Api::new(url, &Http::new().unwrap())
    }

    fn assert_too_large<T: std::fmt::Debug>(result: Result<T, ClientError>, cap: usize) {
        match result {
            Err(ClientError::ResponseTooLarge { limit }) => assert_eq!(limit, cap as u64),
            other => panic!("expected response_too_large, got {other:?}"),
        }
    }

    /// A redirect is an answer like any other error, never followed: it
    /// could lead to plain `http://` elsewhere, with the token.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        // The target answers at once, so a client that followed would hear back.
        let (elsewhere, contacted) =
            flood("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n", 2);
        let target = format!("{}/v1/devices", elsewhere.as_str());
        for status in ["301 Moved Permanently", "302 Found", "307 Temporary Redirect", "308 Permanent Redirect"] {
            let (url, _) = flood(format!("HTTP/1.1 {status}\r\nlocation: {target}\r\ncontent-length: 0\r\n"), 0);
            match api(url).devices("00").await {
                Err(ClientError::Server { status: code, .. }) => assert_eq!(code.to_string(), status[..3]),
                other => panic!("{status}: expected the redirect as an error, got {other:?}"),
            }
            assert_eq!(contacted.load(Ordering::SeqCst), 0, "{status}: the redirect's target was contacted");
        }
    }

    #[tokio::test]
    async fn a_pull_answer_is_cut_off_at_its_cap_while_it_streams() {
        // 240 MiB of answer, without a length: the client stops reading at its cap.
        let (url, sent) = flood("HTTP/1.1 200 OK\r\ncontent-type: application/cbor\r\n", 240 << 20);
        let cap = pull_answer_cap(1000);
        assert_too_large(api(url).pull("00", Cursor(0), 1000).await, cap);
        let sent = sent.load(Ordering::SeqCst);
        assert!(sent <= cap as u64 + IN_FLIGHT, "the client read {sent} bytes of a {cap}-byte cap");
    }

    #[tokio::test]
    async fn a_json_answer_has_a_much_smaller_cap() {
        let (url, sent) = flood("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n", 64 << 20);
        assert_too_large(api(url).meta().await, MAX_JSON_ANSWER);
        let sent = sent.load(Ordering::SeqCst);
        assert!(sent <= MAX_JSON_ANSWER as u64 + IN_FLIGHT, "the client read {sent} bytes");
    }

    #[tokio::test]
    async fn an_error_answer_has_the_problem_document_cap() {
        let (url, _) = flood("HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\n", 8 << 20);
        assert_too_large(api(url).devices("00").await, MAX_PROBLEM_ANSWER);
    }

    #[tokio::test]
    async fn a_content_length_above_the_cap_is_refused_before_the_body() {
        // The server announces 10 GiB and then sends nothing: a client that
        // waited for the body would be cut off by the server, not refuse it.
        let (url, _) = flood("HTTP/1.1 200 OK\r\ncontent-type: application/cbor\r\ncontent-length: 10737418240\r\n", 0);
        assert_too_large(api(url).push("00", vec![vec![0xa8]], None).await, MAX_PUSH_ANSWER);
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in ["https://sync.example.org", "http://127.0.0.1:8787", "http://localhost:1/", "http://[::1]:8787"] {
            assert!(ServerUrl::parse(ok, false).is_ok(), "{ok}");
        }
        for bad in ["http://sync.example.org", "http://10.0.0.2:8787", "ftp://x", "not a url"] {
            assert!(matches!(ServerUrl::parse(bad, false), Err(ClientError::InvalidServerUrl(_))), "{bad}");
        }
        assert!(ServerUrl::parse("http://sync.example.org", true).is_ok());
        assert_eq!(
            ServerUrl::parse("https://h.example/base", false).unwrap().join("/v1/meta").as_str(),
            "https://h.example/base/v1/meta"
        );
    }
}

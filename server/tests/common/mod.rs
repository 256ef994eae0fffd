//! Test harness: a real server on a loopback port over a real database —
//! a fresh SQLite file, or a fresh Postgres database per test — and a small
//! client that speaks the HTTP API the way a device does.
//!
//! Postgres comes from `DATABASE_URL` (default: the local server). If it is
//! unreachable the Postgres half of each test is skipped with a notice on
//! stderr, except under `CI=true`, where that is a failure.
#![allow(dead_code)] // each test binary uses a different part of the harness

use reqwest::{Method, StatusCode};
use sealsync_crypto::{DataKey, ProtocolVersion, RootKey, WrapContext, wrap_data_key};
use sealsync_envelope::dto::{
    DeviceRegistration, EnvelopeBytes, LoginRequest, PullAfter, PullResponse, PushRequest, PushResponse,
    RegisterRequest, SessionResponse, from_cbor, to_cbor,
};
use sealsync_envelope::{
    AccountId, Cursor, DeviceId, DeviceSeq, Hlc, RecordId, RecordKind, RecordPayload, RecordSealer, UnixMillis,
};
use sealsync_server::store::Store;
use sealsync_server::store::postgres::PgStore;
use sealsync_server::store::sqlite::SqliteStore;
use sealsync_server::{Settings, router, serve_with};
use sealsync_testkit::ScratchPostgres;
use sqlx::Connection;
use tokio::sync::oneshot;

/// A running server and how to reach it.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub backend: &'static str,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub db: TestDb,
}

/// The database behind a test server; kept alive (and cleaned up) with it.
pub enum TestDb {
    Sqlite { _dir: std::sync::Arc<tempfile::TempDir>, url: String },
    Postgres(std::sync::Arc<ScratchPostgres>),
}

impl TestDb {
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } => url,
            TestDb::Postgres(db) => &db.url,
        }
    }

    pub fn share(&self) -> TestDb {
        match self {
            TestDb::Sqlite { _dir, url } => TestDb::Sqlite { _dir: _dir.clone(), url: url.clone() },
            TestDb::Postgres(db) => TestDb::Postgres(db.clone()),
        }
    }

    /// Rows of any table that belong to the account (for deletion checks).
    pub async fn rows_of_account(&self, account: AccountId) -> i64 {
        const COUNT: &str = "SELECT (SELECT COUNT(*) FROM accounts WHERE id = $1) \
            + (SELECT COUNT(*) FROM account_names WHERE account_id = $1) \
            + (SELECT COUNT(*) FROM account_keys WHERE account_id = $1) \
            + (SELECT COUNT(*) FROM devices WHERE account_id = $1) \
            + (SELECT COUNT(*) FROM device_counters WHERE account_id = $1) \
            + (SELECT COUNT(*) FROM envelopes WHERE account_id = $1)";
        match self {
            TestDb::Sqlite { url, .. } => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query_scalar(COUNT).bind(account.0).fetch_one(&mut conn).await.unwrap()
            }
            TestDb::Postgres(db) => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query_scalar(COUNT).bind(account.0).fetch_one(&mut conn).await.unwrap()
            }
        }
    }
}

impl TestDb {
    /// The token hash stored for a device.
    pub async fn token_hash_of(&self, device: DeviceId) -> Vec<u8> {
        const QUERY: &str = "SELECT token_hash FROM devices WHERE id = $1";
        match self {
            TestDb::Sqlite { url, .. } => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query_scalar(QUERY).bind(device.0).fetch_one(&mut conn).await.unwrap()
            }
            TestDb::Postgres(db) => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query_scalar(QUERY).bind(device.0).fetch_one(&mut conn).await.unwrap()
            }
        }
    }
}

/// A scratch Postgres database for one test, or `None` to skip (see sealsync-testkit).
pub async fn postgres_database() -> Option<ScratchPostgres> {
    ScratchPostgres::for_test("server suite").await
}

impl TestServer {
    pub async fn sqlite(settings: Settings) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let db = TestDb::Sqlite { _dir: std::sync::Arc::new(dir), url };
        Self::on(db, settings).await
    }

    /// `None` when Postgres is unavailable outside CI (the test then passes as skipped).
    pub async fn postgres(settings: Settings) -> Option<TestServer> {
        let db = postgres_database().await?;
        Some(Self::on(TestDb::Postgres(std::sync::Arc::new(db)), settings).await)
    }

    /// Another server instance (its own pool) on the same database.
    pub async fn second_instance(&self, settings: Settings) -> TestServer {
        Self::on(self.db.share(), settings).await
    }

    pub async fn on(db: TestDb, settings: Settings) -> TestServer {
        match &db {
            TestDb::Sqlite { url, .. } => {
                let store = SqliteStore::connect(url, 8).await.unwrap();
                Self::start(store, db, settings).await
            }
            TestDb::Postgres(pg) => {
                let store = PgStore::connect(&pg.url, 8).await.unwrap();
                Self::start(store, db, settings).await
            }
        }
    }

    async fn start<S: Store>(store: S, db: TestDb, settings: Settings) -> TestServer {
        store.migrate().await.unwrap();
        let backend = store.backend();
        let app = router(store, &settings).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            serve_with(listener, app, &settings, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer { base, http: reqwest::Client::new(), backend, shutdown: Some(tx), task: Some(task), db }
    }

    /// Stops accepting, finishes requests in flight, and waits for the server.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A JSON request; returns status and body as JSON (null if empty).
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    /// A raw request with a content type; returns status, headers and body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut request = self.http.request(method, self.url(path)).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    pub async fn push(&self, device: &Device, envelopes: Vec<Vec<u8>>) -> PushResponse {
        let body = to_cbor(&PushRequest::new(envelopes.into_iter().map(EnvelopeBytes).collect()));
        let (status, _, bytes) =
            self.raw(Method::POST, "/v1/sync/push", Some(&device.token), "application/cbor", body).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
        from_cbor(&bytes, usize::MAX).unwrap()
    }

    /// A push that asks for the page after `after` (PROTOCOL.md §8.2).
    pub async fn push_asking(
        &self,
        device: &Device,
        envelopes: Vec<Vec<u8>>,
        after: u64,
        limit: Option<u64>,
    ) -> PushResponse {
        let request = PushRequest {
            envelopes: envelopes.into_iter().map(EnvelopeBytes).collect(),
            pull: Some(PullAfter { after: Cursor(after), limit }),
        };
        let (status, _, bytes) =
            self.raw(Method::POST, "/v1/sync/push", Some(&device.token), "application/cbor", to_cbor(&request)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
        let response: PushResponse = from_cbor(&bytes, usize::MAX).unwrap();
        assert!(response.pull.is_some(), "a push that asks for a page gets one");
        response
    }

    pub async fn pull(&self, device: &Device, after: u64, limit: u32) -> PullResponse {
        let response = self
            .http
            .get(self.url(&format!("/v1/sync/pull?after={after}&limit={limit}")))
            .bearer_auth(&device.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/cbor");
        from_cbor(&response.bytes().await.unwrap(), usize::MAX).unwrap()
    }

    /// Registers a fresh account with a random name; returns it and its first device.
    pub async fn register(&self) -> (Account, Device) {
        let account = Account::new();
        let request = account.register_request(DeviceId::random());
        let (status, body) =
            self.json(Method::POST, "/v1/accounts", None, Some(serde_json::to_value(&request).unwrap())).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let session: SessionResponse = serde_json::from_value(body).unwrap();
        assert_eq!(session.account_id, account.id);
        let device = Device { id: session.device_id, token: session.token };
        (account, device)
    }

    /// Signs a new device in to `account`.
    pub async fn login(&self, account: &Account) -> Device {
        let request = LoginRequest {
            account_name: account.name.clone(),
            auth_key: account.auth_key,
            device: DeviceRegistration { id: DeviceId::random(), encrypted_name: vec![0xab; 40] },
        };
        let (status, body) =
            self.json(Method::POST, "/v1/login", None, Some(serde_json::to_value(&request).unwrap())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let session: SessionResponse = serde_json::from_value(body).unwrap();
        Device { id: session.device_id, token: session.token }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An account as a client holds it. Keys are random rather than derived from
/// a passphrase: the server cannot tell the difference, and the suite stays fast.
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub auth_key: [u8; 32],
    pub salt_seed: [u8; 32],
    pub data_key: DataKey,
    pub sealer: RecordSealer,
    pub wrapped_key: Vec<u8>,
}

impl Account {
    pub fn new() -> Self {
        let id = AccountId::random();
        let data_key = DataKey::generate().unwrap();
        let wrap_key = RootKey::from_bytes(random()).wrap_key();
        let ctx = WrapContext::new(ProtocolVersion::V1, *id.as_bytes(), data_key.key_id());
        let wrapped_key = wrap_data_key(&wrap_key, &data_key, &ctx).unwrap().as_bytes().to_vec();
        Self {
            id,
            name: format!("user-{}@example.org", uuid::Uuid::new_v4().simple()),
            auth_key: random(),
            salt_seed: random(),
            sealer: RecordSealer::new(id, &data_key),
            data_key,
            wrapped_key,
        }
    }

    pub fn register_request(&self, device: DeviceId) -> RegisterRequest {
        RegisterRequest {
            account_id: self.id,
            account_name: self.name.clone(),
            protocol_version: 1,
            salt_seed: self.salt_seed,
            auth_key: self.auth_key,
            key_id: self.data_key.key_id().0,
            wrapped_data_key: self.wrapped_key.clone(),
            device: DeviceRegistration { id: device, encrypted_name: vec![0xcd; 40] },
            recovery: None,
        }
    }

    /// A sealed envelope of `record` by `device` at counter `seq`.
    pub fn envelope(&self, device: &Device, record: RecordId, seq: u64, note: &str) -> Vec<u8> {
        let payload = RecordPayload {
            kind: RecordKind::new("mood").unwrap(),
            // The server never reads the stamp; huge counters keep a valid one.
            hlc: Hlc::new(1_764_000_000_000 + seq.min(1 << 30), 0).unwrap(),
            created_at: UnixMillis(1_764_000_000_000),
            deleted_at: None,
            body: note.as_bytes().to_vec(),
        };
        self.sealer.seal(record, device.id, DeviceSeq(seq), &payload).unwrap().encode()
    }
}

/// A signed-in device.
pub struct Device {
    pub id: DeviceId,
    pub token: String,
}

pub fn random<const N: usize>() -> [u8; N] {
    sealsync_crypto::primitives::random().unwrap()
}

/// Runs a test body against SQLite and, when reachable, Postgres:
/// `on_both_backends!(test_fn, other_fn with settings_fn)`, where `settings_fn()`
/// returns the server's `Settings` (default if omitted).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident $(with $settings:ident)?),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let settings = $crate::on_both_backends!(@settings $($settings)?);
                super::$name($crate::common::TestServer::sqlite(settings).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let settings = $crate::on_both_backends!(@settings $($settings)?);
                if let Some(server) = $crate::common::TestServer::postgres(settings).await {
                    super::$name(server).await;
                }
            }
        }
    )*};
    (@settings) => { Default::default() };
    (@settings $settings:ident) => { super::$settings() };
}

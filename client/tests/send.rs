//! An app awaits the journal from async tasks (a Tauri command runs on a
//! multi-threaded runtime): every async `Journal` method's future must be
//! `Send`, and every type in a public signature must be reachable from the
//! crate root. These are compile checks: if a future stops being `Send`,
//! this file does not build. The futures are built, never polled, so no
//! server is needed.

use std::sync::Arc;

use sealsync_client::{
    AccountId, ClientError, Cursor, DeviceId, EnableOptions, Journal, LinkOptions, Mood, Network, Passphrase,
    RecoverOptions, RecoverySecret, Retrying, ShownCode,
};

fn send<T: Send>(_: &T) {}

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple, end to end".into()).unwrap()
}

#[test]
fn every_async_journal_method_returns_a_send_future() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    let p = passphrase();
    {
        let options = EnableOptions {
            server_url: "https://sync.example.org".into(),
            account_name: "me@example.org".into(),
            passphrase: passphrase(),
            create: true,
            allow_insecure_http: false,
            device_name: "laptop".into(),
            recovery_key: true,
        };
        let future = journal.enable_sync(options);
        send(&future);
    }
    {
        let options = LinkOptions {
            server_url: "https://sync.example.org".into(),
            allow_insecure_http: false,
            device_name: "phone".into(),
        };
        let mut show = |_: &ShownCode| {};
        let future = journal.link(options, &mut show);
        send(&future);
    }
    {
        let mut approve = |_: &str| true;
        let future = journal.approve_device("123456-ABCD-EFGH", &mut approve);
        send(&future);
    }
    {
        let options = RecoverOptions {
            server_url: "https://sync.example.org".into(),
            account_name: "me@example.org".into(),
            recovery_key: RecoverySecret::generate().unwrap(),
            new_passphrase: passphrase(),
            allow_insecure_http: false,
            device_name: "laptop".into(),
        };
        let future = journal.recover(options);
        send(&future);
    }
    {
        let future = journal.change_passphrase(&p, &p, false);
        send(&future);
    }
    {
        let future = journal.new_recovery_key(&p);
        send(&future);
    }
    {
        let future = journal.rotate_key(&p);
        send(&future);
    }
    {
        let future = journal.unlock(&p);
        send(&future);
    }
    {
        let mut progress = |_| {};
        let future = journal.sync_now(&mut progress);
        send(&future);
    }
    {
        let future = journal.disable_sync();
        send(&future);
    }
    {
        let future = journal.devices();
        send(&future);
    }
    {
        let future = journal.revoke_device(DeviceId::random());
        send(&future);
    }
}

/// The issue's own case: a journal behind an async mutex, awaited from a
/// spawned task on a multi-threaded runtime (here sync is off, so the
/// answer is `sync_disabled`, at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_task_can_await_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(tokio::sync::Mutex::new(Journal::open(dir.path()).unwrap()));
    let j = journal.clone();
    let devices = tokio::spawn(async move { j.lock().await.devices().await }).await.unwrap();
    assert!(matches!(devices, Err(ClientError::SyncDisabled)), "{devices:?}");
    let j = journal.clone();
    let revoked = tokio::spawn(async move { j.lock().await.revoke_device(DeviceId::random()).await }).await.unwrap();
    assert!(matches!(revoked, Err(ClientError::SyncDisabled)));
    let j = journal.clone();
    let id = tokio::spawn(async move { j.lock().await.create(&Mood { score: 5, note: String::new(), tags: vec![] }) })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(journal.lock().await.list::<Mood>(false).unwrap()[0].id, id);
    // Types of public fields and options, named from the crate root.
    let _: Option<(AccountId, Cursor, Network, Option<Retrying>)> = None;
}

//! PROTOCOL.md §8.2, "Restored servers", over real HTTP on SQLite and
//! Postgres: every push and pull answer names the account's log (identity,
//! head, the device marks), the identity is the account's own, and
//! `POST /v1/sync/log/renew` replaces it once, only if it is still the one
//! the device saw.

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use sealsync_envelope::dto::{LogState, RenewLogRequest, from_cbor, to_cbor};
use sealsync_envelope::{Cursor, RecordId};

on_both_backends!(answers_name_the_log_and_a_renewal_happens_once);

async fn answers_name_the_log_and_a_renewal_happens_once(server: TestServer) {
    let (account, phone) = server.register().await;
    let laptop = server.login(&account).await;
    let (_, stranger) = server.register().await;

    let pushed = server
        .push(
            &phone,
            vec![
                account.envelope(&phone, RecordId::random(), 1, "one"),
                account.envelope(&phone, RecordId::random(), 2, "two"),
            ],
        )
        .await;
    let log = pushed.log.expect("a push answer names the log");
    assert_eq!(log.head, Cursor(2));
    assert_eq!(log.devices.len(), 1, "{log:?}");
    assert_eq!((log.devices[0].device, log.devices[0].high), (*phone.id.as_bytes(), 2));

    let page = server.pull(&laptop, 0, 1).await;
    let seen = page.log.expect("a pull answer names the log");
    assert_eq!((seen.id, seen.head), (log.id, Cursor(2)), "the head, not the page's end");
    let other = server.pull(&stranger, 0, 10).await.log.unwrap();
    assert_ne!(other.id, log.id, "each account has a log identity of its own");
    assert_eq!(other.head, Cursor(0));

    // Renewing the identity the device saw replaces it; a second device
    // reporting the same (now old) identity changes nothing more.
    let renew = |device: &common::Device, id| {
        let body = to_cbor(&RenewLogRequest { log_id: id });
        let token = device.token.clone();
        let server = &server;
        async move {
            let (status, _, bytes) =
                server.raw(Method::POST, "/v1/sync/log/renew", Some(&token), "application/cbor", body).await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
            from_cbor::<LogState>(&bytes, 1024).unwrap()
        }
    };
    let renewed = renew(&laptop, log.id).await;
    assert_ne!(renewed.id, log.id);
    assert_eq!(renewed.head, Cursor(2), "renewing touches nothing else");
    let again = renew(&phone, log.id).await;
    assert_eq!(again.id, renewed.id, "one loss renews the identity once");
    assert_eq!(server.pull(&phone, 2, 10).await.log.unwrap().id, renewed.id);
    assert_eq!(server.pull(&stranger, 0, 10).await.log.unwrap().id, other.id, "another account's log is untouched");

    // A push's answer names the log as that push left it: every device's
    // mark (not only the pusher's), in device id order, and its own cursor
    // as the head.
    let pushed = server.push(&laptop, vec![account.envelope(&laptop, RecordId::random(), 5, "three")]).await;
    let log = pushed.log.expect("a push answer names the log");
    assert_eq!((log.id, log.head), (renewed.id, pushed.cursor));
    assert_eq!(pushed.cursor, Cursor(3));
    let mut expected = vec![(*phone.id.as_bytes(), 2), (*laptop.id.as_bytes(), 5)];
    expected.sort();
    assert_eq!(log.devices.iter().map(|m| (m.device, m.high)).collect::<Vec<_>>(), expected);
    assert_eq!(server.pull(&phone, 0, 1).await.log.unwrap(), log, "a pull reads the same log");

    // Without a token: 401, like every sync endpoint.
    let body = to_cbor(&RenewLogRequest { log_id: renewed.id });
    let (status, _, _) = server.raw(Method::POST, "/v1/sync/log/renew", None, "application/cbor", body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

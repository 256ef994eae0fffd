//! The JSON bodies of the account and device endpoints (PROTOCOL.md §8.1):
//! parsed as the server parses them (`serde_json` into `wire`'s bodies) and
//! checked by the server's own field checks; and the JSON a client reads.

use sealsync_crypto::{AccountName, WrappedDataKey};
use sealsync_envelope::dto::{
    DeleteAccountRequest, DeviceListEntry, LoginParamsRequest, LoginParamsResponse, LoginRequest,
    MAX_SEALED_DEVICE_NAME_BYTES, MetaResponse, RegisterRequest, RenameDeviceRequest, SessionResponse,
};
use sealsync_server::wire::{
    DeleteAccountBody, LoginBody, RegisterBody, RenameDeviceBody, account_name, random_uuid_text, uuid_text,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// The codes `POST /v1/accounts` answers a body that parsed (§8, its row).
const REGISTER_CODES: &[&str] = &[
    "invalid_account_id",
    "invalid_account_name",
    "unsupported_protocol_version",
    "invalid_salt_seed",
    "invalid_auth_key",
    "invalid_key_id",
    "invalid_wrapped_key",
    "invalid_device_id",
    "invalid_device_name",
];
/// The codes `POST /v1/login` answers a body that parsed, before the database.
const LOGIN_CODES: &[&str] = &["invalid_account_name", "invalid_auth_key", "invalid_device_id", "invalid_device_name"];

/// Every JSON body of §8.1, from the same bytes:
///
/// - a request body the server's checks accept is canonical and stays
///   accepted: the account name is a fixed point of canonicalisation, ids are
///   random (v4) UUIDs, byte strings have their lengths, and the request
///   serialised again (as the client sends it) passes the checks unchanged;
/// - the checks are stricter than the shared DTO's serde: whatever they
///   accept, the DTO reads from the same bytes to the same request (the name
///   aside, which the server canonicalises);
/// - a rejected body gets one of its endpoint's codes;
/// - the path's device id is accepted only in its one text form;
/// - every DTO a client or server reads survives its own encoding.
pub fn check_json(data: &[u8]) {
    register(data);
    login(data);
    if let Ok(body) = serde_json::from_slice::<DeleteAccountBody>(data) {
        match body.check() {
            Ok(request) => assert_eq!(dto::<DeleteAccountRequest>(data).as_ref(), Some(&request)),
            Err(e) => assert_eq!(e.code, "invalid_auth_key"),
        }
    }
    if let Ok(body) = serde_json::from_slice::<RenameDeviceBody>(data) {
        match body.check() {
            Ok(request) => {
                assert!(request.encrypted_name.len() <= MAX_SEALED_DEVICE_NAME_BYTES);
                assert_eq!(dto::<RenameDeviceRequest>(data).as_ref(), Some(&request));
            }
            Err(e) => assert_eq!(e.code, "invalid_device_name"),
        }
    }
    // `login/params` reads the DTO itself, then checks the name.
    if let Some(request) = dto::<LoginParamsRequest>(data) {
        match account_name(&request.account_name) {
            Ok(name) => canonical_name(&name),
            Err(e) => assert_eq!(e.code, "invalid_account_name"),
        }
    }
    if let Ok(text) = core::str::from_utf8(data) {
        path_id(text);
    }
    dto::<RegisterRequest>(data);
    dto::<LoginRequest>(data);
    dto::<SessionResponse>(data);
    dto::<LoginParamsResponse>(data);
    dto::<Vec<DeviceListEntry>>(data);
    dto::<MetaResponse>(data);
}

fn register(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<RegisterBody>(data) else { return };
    let (request, name, version) = match body.check() {
        Ok(checked) => checked,
        Err(e) => return assert!(REGISTER_CODES.contains(&e.code), "register answered {}", e.code),
    };
    canonical_name(&name);
    assert_eq!(request.account_name, name.as_str());
    assert_eq!(request.protocol_version, version.get());
    assert_eq!(request.wrapped_data_key.len(), WrappedDataKey::LEN);
    random_v4(request.account_id.0);
    random_v4(request.device.id.0);
    assert!(request.device.encrypted_name.len() <= MAX_SEALED_DEVICE_NAME_BYTES);
    let resent: RegisterBody = serde_json::from_slice(&json(&request)).expect("a checked request parses again");
    assert_eq!(resent.check().expect("a checked request passes again").0, request);
    let mut direct = dto::<RegisterRequest>(data).expect("the DTO reads what the checks accept");
    direct.account_name = request.account_name.clone();
    assert_eq!(direct, request, "the DTO reads the body otherwise than the checks");
}

fn login(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<LoginBody>(data) else { return };
    let (request, name) = match body.check() {
        Ok(checked) => checked,
        Err(e) => return assert!(LOGIN_CODES.contains(&e.code), "login answered {}", e.code),
    };
    canonical_name(&name);
    assert_eq!(request.account_name, name.as_str());
    random_v4(request.device.id.0);
    assert!(request.device.encrypted_name.len() <= MAX_SEALED_DEVICE_NAME_BYTES);
    let resent: LoginBody = serde_json::from_slice(&json(&request)).expect("a checked request parses again");
    assert_eq!(resent.check().expect("a checked request passes again").0, request);
    let mut direct = dto::<LoginRequest>(data).expect("the DTO reads what the checks accept");
    direct.account_name = request.account_name.clone();
    assert_eq!(direct, request, "the DTO reads the body otherwise than the checks");
}

/// A device id in a path: one text form only; a random one is version 4.
fn path_id(text: &str) {
    if let Some(uuid) = uuid_text(text) {
        assert_eq!(uuid.hyphenated().to_string(), text);
    }
    if let Some(uuid) = random_uuid_text(text) {
        assert_eq!(uuid_text(text), Some(uuid));
        random_v4(uuid);
    }
}

fn canonical_name(name: &AccountName) {
    assert_eq!(AccountName::parse(name.as_str()).as_ref(), Ok(name), "a canonical name changes when parsed again");
}

fn random_v4(uuid: Uuid) {
    assert_eq!(uuid.get_version(), Some(uuid::Version::Random));
    assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("DTOs serialise")
}

/// Parses `T`; a value it parses survives its own encoding.
fn dto<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(data: &[u8]) -> Option<T> {
    let value = serde_json::from_slice::<T>(data).ok()?;
    let again = serde_json::from_slice::<T>(&json(&value));
    assert_eq!(again.as_ref().ok(), Some(&value), "a parsed body does not survive its own encoding: {again:?}");
    Some(value)
}

//! From record payload to envelope and back: pad, seal, encode; decode, check
//! key id, open, unpad (PROTOCOL.md §4.5).

use sealsync_crypto::{DataKey, KeyId, RecordKey, TAG_LEN};

use crate::{AccountId, Envelope, EnvelopeHeader, Error, RecordPayload, padding};

/// Seals and opens one account's records: holds the record key, the key id it
/// is filed under and the account id every AAD binds.
#[derive(Debug)]
pub struct RecordSealer {
    account_id: AccountId,
    key_id: KeyId,
    record_key: RecordKey,
}

impl RecordSealer {
    /// Derives the record key and key id from the account's data key.
    pub fn new(account_id: AccountId, data_key: &DataKey) -> Self {
        Self { account_id, key_id: data_key.key_id(), record_key: data_key.record_key() }
    }

    /// The account every envelope is bound to.
    pub fn account_id(&self) -> AccountId {
        self.account_id
    }

    /// The key id written into every envelope sealed here.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// `Envelope{header, nonce, XChaCha20-Poly1305[record_key](nonce, aad(header), pad(payload))}`
    pub fn seal(
        &self,
        record_id: crate::RecordId,
        device_id: crate::DeviceId,
        device_seq: crate::DeviceSeq,
        payload: &RecordPayload,
    ) -> Result<Envelope, Error> {
        let (header, mut buffer) = self.prepare(record_id, device_id, device_seq, payload)?;
        let nonce = self.record_key.seal(&header.aad(&self.account_id), &mut buffer)?;
        Ok(Envelope { header, nonce, ciphertext: buffer })
    }

    /// The header and padded plaintext for `payload`, ready to seal in place.
    fn prepare(
        &self,
        record_id: crate::RecordId,
        device_id: crate::DeviceId,
        device_seq: crate::DeviceSeq,
        payload: &RecordPayload,
    ) -> Result<(EnvelopeHeader, Vec<u8>), Error> {
        if device_seq > crate::DeviceSeq::MAX {
            return Err(Error::DeviceSeqOutOfRange(device_seq));
        }
        if payload.is_tombstone() && !payload.body.is_empty() {
            return Err(Error::Payload(crate::DecodeError::InvalidField {
                field: "body",
                reason: "a tombstone's body must be empty",
            }));
        }
        let len = payload.encoded_len();
        if len > padding::MAX_PAYLOAD_LEN {
            return Err(Error::PayloadTooLarge { len, max: padding::MAX_PAYLOAD_LEN });
        }
        let mut buffer = padding::start(len, TAG_LEN);
        payload.encode_into(&mut buffer);
        padding::finish(&mut buffer);
        let header = EnvelopeHeader { record_id, device_id, device_seq, key_id: self.key_id };
        Ok((header, buffer))
    }

    /// Opens an envelope of this account: the key id must be this sealer's,
    /// the tag must verify over the header and account, and the plaintext must
    /// be canonically padded and encoded. Decrypts in place, so it takes the
    /// envelope (its header is `Copy` for the caller to keep).
    pub fn open(&self, envelope: Envelope) -> Result<RecordPayload, Error> {
        let Envelope { header, nonce, ciphertext } = envelope;
        if header.key_id != self.key_id {
            return Err(Error::UnknownKeyId(header.key_id));
        }
        // Not zeroized: the plaintext is about to be stored in the device's own
        // database anyway, and a volatile wipe of every record costs ~10% of
        // the open path. Keys, not records, are what this crate wipes.
        let mut buffer = ciphertext;
        self.record_key.open(&nonce, &header.aad(&self.account_id), &mut buffer)?;
        let payload = padding::unpad(&buffer).map_err(Error::Payload)?;
        RecordPayload::decode(payload).map_err(Error::Payload)
    }
}

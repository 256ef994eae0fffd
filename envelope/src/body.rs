//! The record body: a live record's field groups, each with the value its
//! kind defines and the stamps that say which changes it includes
//! (PROTOCOL.md §4.7). The envelope crate reads the structure; what each
//! group's value means belongs to the application (the client's `domain/`).
//!
//! ```text
//! record-body = { + group-id => group }          ; ascending group ids
//! group       = [ value: bstr, stamps ]          ; value: the kind's canonical CBOR
//! stamps      = { + device-id => hlc }           ; ascending device ids
//! ```

use std::collections::BTreeMap;

use crate::cbor::{Reader, Writer, header_len};
use crate::{DecodeError, DeviceId, Hlc};

/// Largest group number: groups are small per kind, and a bound keeps a
/// hostile body from costing more than its bytes.
pub const MAX_GROUP_ID: u64 = 63;

/// Most devices one group's stamps name. A device keeps at most this many
/// when it edits (dropping the oldest; see [`Stamps::record`]).
pub const MAX_STAMPS: usize = 64;

/// A field group's number within its kind (1..=[`MAX_GROUP_ID`]).
pub type GroupId = u64;

/// One change to a group: its stamp, then the device that made it. Ordered
/// in that order (derived `Ord`), which is the last-writer-wins order of §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dot {
    /// When, causally.
    pub hlc: Hlc,
    /// Which device; breaks ties between equal stamps.
    pub device: DeviceId,
}

/// The changes a group's value includes: per device, the greatest stamp of
/// that device's edits to the group that this value has seen (a version
/// vector). The greatest entry is the change that wrote the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stamps(BTreeMap<DeviceId, Hlc>);

impl Stamps {
    /// Stamps of a value written by one change.
    pub fn single(dot: Dot) -> Self {
        Self(BTreeMap::from([(dot.device, dot.hlc)]))
    }

    /// The change that wrote the value: the greatest entry by (stamp, device).
    /// `None` only for empty stamps, which no valid body holds.
    pub fn dot(&self) -> Option<Dot> {
        self.0.iter().map(|(&device, &hlc)| Dot { hlc, device }).max()
    }

    /// Whether this value has seen `dot`: it was written knowing that change,
    /// so that change is its past, not a concurrent edit.
    pub fn covers(&self, dot: Dot) -> bool {
        self.0.get(&dot.device).is_some_and(|&hlc| hlc >= dot.hlc)
    }

    /// Pointwise maximum: everything either side has seen.
    pub fn join(&mut self, other: &Stamps) {
        for (&device, &hlc) in &other.0 {
            let entry = self.0.entry(device).or_insert(hlc);
            *entry = (*entry).max(hlc);
        }
    }

    /// Records a new local change `dot`, which must be greater than every
    /// entry. Past [`MAX_STAMPS`] devices the oldest entries are dropped: a
    /// dropped entry can only make a later merge report a conflict that was
    /// none, never hide one.
    pub fn record(&mut self, dot: Dot) {
        self.0.insert(dot.device, dot.hlc);
        while self.0.len() > MAX_STAMPS {
            let oldest = self.0.iter().filter(|(d, _)| **d != dot.device).min_by_key(|(d, h)| (**h, **d));
            let Some((&device, _)) = oldest else { break };
            self.0.remove(&device);
        }
    }

    /// The same stamps with device `from` renamed `to` (the client stores its
    /// own changes under a placeholder until it has a device id).
    pub fn renamed(&self, from: DeviceId, to: DeviceId) -> Self {
        let mut renamed = Stamps::default();
        for (&device, &hlc) in &self.0 {
            renamed.join(&Stamps::single(Dot { hlc, device: if device == from { to } else { device } }));
        }
        renamed
    }

    /// Every entry, in device order.
    pub fn iter(&self) -> impl Iterator<Item = Dot> + '_ {
        self.0.iter().map(|(&device, &hlc)| Dot { hlc, device })
    }
}

/// One field group: its value (canonical CBOR, as the kind defines it) and
/// the changes that value includes.
#[derive(Clone, PartialEq, Eq)]
pub struct Group {
    /// The kind's canonical CBOR of the group's fields.
    pub value: Vec<u8>,
    /// Which changes it includes; never empty.
    pub stamps: Stamps,
}

/// Values are clinical data: `Debug` shows their length only.
impl core::fmt::Debug for Group {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Group").field("value_len", &self.value.len()).field("stamps", &self.stamps).finish()
    }
}

/// A live record's content: its groups by number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordBody {
    /// The groups, ascending by number.
    pub groups: BTreeMap<GroupId, Group>,
}

impl RecordBody {
    /// The greatest change in any group: the version's stamp (payload key 2).
    pub fn max_dot(&self) -> Option<Dot> {
        self.groups.values().filter_map(|g| g.stamps.dot()).max()
    }

    /// The canonical CBOR of §4.7.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        let mut w = Writer::new(&mut out);
        w.map(self.groups.len());
        for (&id, group) in &self.groups {
            w.uint(id);
            w.array(2);
            w.bytes(&group.value);
            w.map(group.stamps.0.len());
            for (device, hlc) in &group.stamps.0 {
                w.bytes(device.as_bytes());
                w.uint(hlc.as_u64());
            }
        }
        out
    }

    fn encoded_len(&self) -> usize {
        let groups = self.groups.iter().map(|(&id, g)| {
            let stamps: usize = g.stamps.0.values().map(|h| 17 + header_len(h.as_u64())).sum();
            header_len(id)
                + 1
                + header_len(g.value.len() as u64)
                + g.value.len()
                + header_len(g.stamps.0.len() as u64)
                + stamps
        });
        header_len(self.groups.len() as u64) + groups.sum::<usize>()
    }

    /// Parses exactly one canonical body (§4.7), checking in reading order:
    /// at least one group; group ids ascending, 1..=[`MAX_GROUP_ID`]; each
    /// group a 2-array of a byte string and 1..=[`MAX_STAMPS`] stamps with
    /// ascending 16-byte device ids; nothing after the map.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let invalid = |reason| DecodeError::InvalidField { field: "body", reason };
        let mut r = Reader::new(bytes);
        let count = r.map_len()?;
        if count == 0 || count as u64 > MAX_GROUP_ID {
            return Err(invalid("a live record has 1 to 63 groups"));
        }
        let mut groups = BTreeMap::new();
        let mut last_id = 0;
        for _ in 0..count {
            let id = r.uint()?;
            if id <= last_id || id > MAX_GROUP_ID {
                return Err(invalid("group ids must ascend, within 1..=63"));
            }
            last_id = id;
            if r.array_len()? != 2 {
                return Err(invalid("a group is [value, stamps]"));
            }
            let value = r.bytes("group value", crate::padding::MAX_PAYLOAD_LEN)?.to_vec();
            let entries = r.map_len()?;
            if entries == 0 || entries > MAX_STAMPS {
                return Err(invalid("a group has 1 to 64 stamps"));
            }
            let mut stamps = BTreeMap::new();
            let mut last_device: Option<DeviceId> = None;
            for _ in 0..entries {
                let device = DeviceId::from_bytes(r.array::<16>("stamp device id")?);
                if last_device.is_some_and(|last| device <= last) {
                    return Err(invalid("stamp device ids must ascend"));
                }
                last_device = Some(device);
                stamps.insert(device, Hlc::from_u64(r.uint()?));
            }
            groups.insert(id, Group { value, stamps: Stamps(stamps) });
        }
        r.finish()?;
        Ok(Self { groups })
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn device(n: u128) -> DeviceId {
        DeviceId(Uuid::from_u128(n))
    }

    fn dot(wall: u64, n: u128) -> Dot {
        Dot { hlc: Hlc::new(wall, 0).unwrap(), device: device(n) }
    }

    fn body() -> RecordBody {
        let mut stamps = Stamps::single(dot(5, 2));
        stamps.join(&Stamps::single(dot(3, 1)));
        RecordBody {
            groups: BTreeMap::from([
                (1, Group { value: vec![0x06], stamps }),
                (3, Group { value: vec![0x60], stamps: Stamps::single(dot(4, 1)) }),
            ]),
        }
    }

    #[test]
    fn round_trips_exactly_and_names_its_greatest_change() {
        let bytes = body().encode();
        assert_eq!(bytes.len(), body().encoded_len());
        assert_eq!(RecordBody::decode(&bytes).unwrap(), body());
        assert_eq!(body().max_dot(), Some(dot(5, 2)));
    }

    #[test]
    fn every_other_encoding_is_refused() {
        let good = body().encode();
        // Empty map, a group id out of order, device ids out of order, trailing bytes.
        assert!(RecordBody::decode(&[0xa0]).is_err());
        let mut swapped = RecordBody::default();
        swapped.groups.insert(64, Group { value: vec![1], stamps: Stamps::single(dot(1, 1)) });
        assert!(RecordBody::decode(&swapped.encode()).is_err());
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(RecordBody::decode(&trailing), Err(DecodeError::TrailingBytes(1)));
        let reordered: Vec<u8> =
            [&[0xa1, 0x01, 0x82, 0x41, 0x06, 0xa2, 0x50][..], &[2; 16], &[0x01, 0x50], &[1; 16], &[0x01]].concat();
        assert!(RecordBody::decode(&reordered).is_err());
        for cut in 0..good.len() {
            assert!(RecordBody::decode(&good[..cut]).is_err());
        }
    }

    #[test]
    fn stamps_cover_their_past_and_join_pointwise() {
        let mut a = Stamps::single(dot(5, 1));
        assert!(a.covers(dot(5, 1)) && a.covers(dot(4, 1)) && !a.covers(dot(6, 1)) && !a.covers(dot(1, 2)));
        a.join(&Stamps::single(dot(7, 2)));
        a.join(&Stamps::single(dot(2, 1)));
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![dot(5, 1), dot(7, 2)]);
        assert_eq!(a.dot(), Some(dot(7, 2)));
    }

    #[test]
    fn recording_past_the_limit_drops_the_oldest_other_device() {
        let mut stamps = Stamps::default();
        for n in 1..=MAX_STAMPS as u128 {
            stamps.record(dot(n as u64, n));
        }
        stamps.record(dot(1000, 9999));
        assert_eq!(stamps.iter().count(), MAX_STAMPS);
        assert!(!stamps.covers(dot(1, 1)) && stamps.covers(dot(1000, 9999)));
    }
}

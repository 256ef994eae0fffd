//! `sealsync_fuzz_checks::check_dto_cbor`: see its documentation for what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sealsync_fuzz_checks::check_dto_cbor(data));

//! `sealsync_fuzz_checks::check_link_open`: see its documentation for what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sealsync_fuzz_checks::check_link_open(data));

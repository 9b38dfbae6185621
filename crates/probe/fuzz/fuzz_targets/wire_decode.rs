//! Feeds arbitrary bytes to the backend-message decoder: it must never panic, never report
//! consuming more than it was given, and decode a stream message by message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgtls_probe::wire::{self, EncryptionReply};

fuzz_target!(|data: &[u8]| {
    if let Some(&first) = data.first() {
        let _ = EncryptionReply::from_byte(first);
    }
    let mut rest = data;
    while let Ok(Some((_msg, used))) = wire::decode_message(rest) {
        assert!(used >= 5 && used <= rest.len());
        rest = &rest[used..];
    }
    // Decoding bodies directly with every tag exercises the field parsers without framing.
    if let Some((&tag, body)) = data.split_first() {
        let _ = wire::decode_body(tag, body);
    }
});

//! Byte builders shared by the pure decode and rule tests: hex, TSOs, key-value pairs and
//! a minimal protobuf encoder (varint and length-delimited fields).

use check_tidb_log_backup::snapshot::Kv;

pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

pub fn tso(unix_ms: u64) -> u64 {
    unix_ms << 18
}

pub fn be(ts: u64) -> Vec<u8> {
    ts.to_be_bytes().to_vec()
}

pub fn kv(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Kv {
    Kv {
        key: key.as_ref().to_vec(),
        value: value.as_ref().to_vec(),
    }
}

pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn field_varint(tag: u32, v: u64, out: &mut Vec<u8>) {
    varint(u64::from(tag) << 3, out);
    varint(v, out);
}

pub fn field_bytes(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    varint((u64::from(tag) << 3) | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

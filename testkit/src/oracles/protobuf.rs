//! `protobuf`: bytes as K1 task info, K9 error and a bare `StorageBackend`
//! (docs/etcd-layout.md#protobuf-messages).

use check_tidb_log_backup::proto;

/// What BR prints for a storage URL can never break output: ASCII, no space, no `|`.
fn assert_clean_url(url: &str) {
    assert!(
        url.bytes().all(|b| b.is_ascii_graphic() && b != b'|'),
        "storage URL {url:?} holds a byte that should have been %-escaped"
    );
}

/// K1 and K9 decoding: no panic; what decodes re-encodes to the same message; the
/// storage URL is always clean.
pub fn check(data: &[u8]) {
    use prost::Message;
    if let Ok(info) = proto::decode_task_info(data) {
        let again = proto::decode_task_info(&info.encode_to_vec()).expect("re-encoded K1");
        assert_eq!(again, info, "K1 round trip");
        assert_clean_url(&proto::storage_url(info.storage.as_ref()));
        let _ = format!("{info:?}");
    }
    if let Ok(err) = proto::decode_backup_error(data) {
        let again = proto::decode_backup_error(&err.encode_to_vec()).expect("re-encoded K9");
        assert_eq!(again, err, "K9 round trip");
    }
    // The bytes as the storage backend alone (field 1 of K1), reaching every oneof arm.
    if let Ok(storage) = proto::StorageBackend::decode(data) {
        assert_clean_url(&proto::storage_url(Some(&storage)));
    }
}

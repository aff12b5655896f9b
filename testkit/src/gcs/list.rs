//! The GCS stand-in's LIST (XML API `ListObjectsV2` form): `prefix`, `delimiter`,
//! `start-after`, `continuation-token` and `max-keys`, over the sorted in-memory keys.

use super::{etag, Shared};
use crate::wire::{self, Request};
use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// A LIST page item: an object or a common prefix.
enum Item {
    Key(String, u64, SystemTime, u64),
    Prefix(String),
}

/// A continuation token: opaque to the client, here hex of `k<key>` (resume after that
/// key) or `p<prefix>` (resume after every key under that common prefix).
fn token(item: &Item) -> String {
    let text = match item {
        Item::Key(key, ..) => format!("k{key}"),
        Item::Prefix(prefix) => format!("p{prefix}"),
    };
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn untoken(token: &str) -> Option<(bool, String)> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (kind, rest) = text.split_at_checked(1)?;
    Some((kind == "p", rest.to_string()))
}

pub(super) fn list(request: &Request, shared: &Shared, bucket: &str) -> Vec<u8> {
    let prefix = request.query_param("prefix").unwrap_or_default();
    let delimiter = request.query_param("delimiter").unwrap_or_default();
    let start_after = request.query_param("start-after").unwrap_or_default();
    let resume = request
        .query_param("continuation-token")
        .and_then(|t| untoken(&t));
    let mut limit = shared.page_size.load(Ordering::SeqCst);
    if let Some(max) = request
        .query_param("max-keys")
        .and_then(|m| m.parse::<usize>().ok())
    {
        limit = limit.min(max.max(1));
    }
    // Keys strictly after both the offset and the token, from the prefix on.
    let mut after = start_after;
    let mut skip_prefix = None;
    if let Some((is_prefix, last)) = resume {
        if last > after {
            after = last.clone();
        }
        if is_prefix {
            skip_prefix = Some(last);
        }
    }
    let buckets = shared.buckets.lock().unwrap();
    let objects = &buckets[bucket];
    let lower = if after.as_str() >= prefix.as_str() {
        Bound::Excluded(after.clone())
    } else {
        Bound::Included(prefix.clone())
    };
    let mut items: Vec<Item> = Vec::new();
    let mut truncated = false;
    for (key, object) in objects.range((lower, Bound::Unbounded)) {
        if !key.starts_with(&prefix) {
            break;
        }
        if skip_prefix.as_ref().is_some_and(|p| key.starts_with(p)) {
            continue;
        }
        let rest = &key[prefix.len()..];
        let item = match rest.find(&delimiter).filter(|_| !delimiter.is_empty()) {
            Some(i) => {
                let common = format!("{prefix}{}", &rest[..i + delimiter.len()]);
                if matches!(items.last(), Some(Item::Prefix(p)) if *p == common) {
                    continue;
                }
                Item::Prefix(common)
            }
            None => Item::Key(
                key.clone(),
                object.bytes.len() as u64,
                object.modified,
                object.generation,
            ),
        };
        if items.len() == limit {
            truncated = true;
            break;
        }
        items.push(item);
    }
    drop(buckets);

    let esc = wire::xml_escape;
    let mut xml = String::from("<?xml version='1.0' encoding='UTF-8'?><ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01\">");
    xml.push_str(&format!(
        "<Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{limit}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        esc(bucket),
        esc(&prefix),
        items.len()
    ));
    for item in &items {
        if let Item::Key(key, size, modified, generation) = item {
            xml.push_str(&format!(
                "<Contents><Key>{}</Key><Generation>{generation}</Generation><MetaGeneration>1</MetaGeneration><LastModified>{}</LastModified><ETag>{}</ETag><Size>{size}</Size></Contents>",
                esc(key),
                humantime::format_rfc3339_millis(*modified),
                esc(&etag(*generation)),
            ));
        }
    }
    for item in &items {
        if let Item::Prefix(prefix) = item {
            xml.push_str(&format!(
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                esc(prefix)
            ));
        }
    }
    if truncated {
        if let Some(last) = items.last() {
            xml.push_str(&format!(
                "<NextContinuationToken>{}</NextContinuationToken>",
                token(last)
            ));
        }
    }
    xml.push_str("</ListBucketResult>");
    xml.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = token(&Item::Prefix("v1/a/".into()));
        assert_eq!(untoken(&t), Some((true, "v1/a/".into())));
        let t = token(&Item::Key("k ü".into(), 0, SystemTime::UNIX_EPOCH, 1));
        assert_eq!(untoken(&t), Some((false, "k ü".into())));
        assert_eq!(untoken("zz"), None);
    }
}

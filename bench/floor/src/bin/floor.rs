//! The physical floor of a check: connect to etcd with etcd-client and do ONE prefix Range,
//! nothing else (no clap, no decoding, no judging). Prints the number of keys and value
//! bytes it received, so the work cannot be optimised away.
//!
//! usage: floor ENDPOINT PREFIX [--count-only]

use etcd_client::{Client, GetOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: floor ENDPOINT PREFIX [--count-only]");
        std::process::exit(2);
    }
    let count_only = args.iter().any(|a| a == "--count-only");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result: Result<(usize, usize, i64), etcd_client::Error> = runtime.block_on(async {
        let client = Client::connect([args[0].as_str()], None).await?;
        // Same response cap as the check (etcd-client's default 4 MiB is too small).
        let mut kv = client.kv_client().max_decoding_message_size(512 << 20);
        let mut options = GetOptions::new().with_prefix();
        if count_only {
            options = options.with_count_only();
        }
        let response = kv.get(args[1].as_bytes(), Some(options)).await?;
        let bytes = response.kvs().iter().map(|kv| kv.value().len()).sum();
        Ok((response.kvs().len(), bytes, response.count()))
    });
    match result {
        Ok((keys, bytes, count)) => println!("{keys} keys, {bytes} value bytes, count {count}"),
        Err(e) => {
            eprintln!("floor: {e}");
            std::process::exit(1);
        }
    }
}

//! Helper of `scripts/bench-s3-sync`: seeds objects into the S3 test server and times a bare
//! `object_store` listing, with the same client settings labelsync uses.
//! Usage: `s3_bench put <endpoint> <bucket> <prefix> <n>` | `s3_bench list <endpoint> <bucket> <prefix>`.

use std::sync::Arc;
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, endpoint, bucket, prefix, rest @ ..] = args.as_slice() else {
        panic!("usage: s3_bench put|list <endpoint> <bucket> <prefix> [n [concurrency [bytes]]]");
    };
    labelsync::storage::object::install_crypto();
    let store: Arc<dyn ObjectStore> = Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_region("us-east-1")
            .with_bucket_name(bucket)
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .expect("S3 client"),
    );
    let started = Instant::now();
    match command.as_str() {
        "put" => {
            let number = |at: usize, default: usize| {
                rest.get(at)
                    .map_or(default, |v| v.parse().expect("a number"))
            };
            let (n, concurrency, bytes) = (number(0, 0), number(1, 32), number(2, 8));
            let body = bytes::Bytes::from(vec![b'x'; bytes]);
            futures_util::stream::iter(0..n)
                .map(|i| {
                    let store = store.clone();
                    let key = Path::from(format!("{prefix}/d{:03}/img_{i:07}.png", i / 1000));
                    let body = PutPayload::from(body.clone());
                    async move { store.put(&key, body).await }
                })
                .buffer_unordered(concurrency)
                .try_collect::<Vec<_>>()
                .await
                .expect("put");
        }
        "list" => {
            let count = store
                .list(Some(&Path::from(prefix.as_str())))
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
                .expect("list");
            eprintln!("listed {count}");
        }
        other => panic!("unknown command {other}"),
    }
    println!("{:.6}", started.elapsed().as_secs_f64());
}

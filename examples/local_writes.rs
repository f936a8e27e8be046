//! The floor of a local export (`scripts/bench-scale`): `count` files of `size` bytes written
//! into one new directory the way any atomic writer must, a temporary file renamed over the
//! target, one after another, with no database and no JSON.
//! Usage: `local_writes <dir> <count> <size>`; prints `seconds`.

use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, count, size] = args.as_slice() else {
        panic!("usage: local_writes <dir> <count> <size>");
    };
    let dir = Path::new(dir);
    let count: u64 = count.parse().expect("a count");
    let body = vec![b'x'; size.parse().expect("a size")];
    std::fs::create_dir_all(dir).expect("a directory");
    let started = Instant::now();
    for n in 0..count {
        let temp = dir.join(format!(".tmp-{n}"));
        std::fs::write(&temp, &body).expect("written");
        std::fs::rename(&temp, dir.join(n.to_string())).expect("renamed");
    }
    println!("{:.6}", started.elapsed().as_secs_f64());
}

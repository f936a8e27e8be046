//! Load generator of `scripts/bench-load`: N concurrent API clients for a fixed time, each
//! looping over a task-list page, an annotation create and a storage read. Prints request
//! counts, failures and task-list latency percentiles.
//! Usage: `load <base url> <token> <project> <storage id> <clients> <seconds>`.

use std::time::{Duration, Instant};

use serde_json::json;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, token, project, storage, clients, seconds] = args.as_slice() else {
        panic!("usage: load <base url> <token> <project> <storage id> <clients> <seconds>");
    };
    let clients: usize = clients.parse().unwrap();
    let until = Instant::now() + Duration::from_secs_f64(seconds.parse().unwrap());
    labelsync::storage::object::install_crypto();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let auth = format!("Token {token}");
    let mut workers = Vec::new();
    for client in 0..clients {
        let (http, auth, base, project, storage) = (
            http.clone(),
            auth.clone(),
            base.clone(),
            project.clone(),
            storage.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut list_latencies = Vec::new();
            let (mut requests, mut failures) = (0u64, Vec::new());
            let mut round = client;
            while Instant::now() < until {
                round += 1;
                let started = Instant::now();
                let page = format!(
                    "{base}/api/tasks?project={project}&page={}&page_size=100",
                    1 + round % 5
                );
                let listed = http.get(&page).header("Authorization", &auth).send().await;
                list_latencies.push(started.elapsed());
                let tasks: Option<serde_json::Value> = match listed {
                    Ok(response) if response.status().is_success() => response.json().await.ok(),
                    Ok(response) => {
                        failures.push(format!("task list: {}", response.status()));
                        None
                    }
                    Err(err) => {
                        failures.push(format!("task list: {err}"));
                        None
                    }
                };
                requests += 1;
                if let Some(task) = tasks
                    .as_ref()
                    .and_then(|t| t["tasks"].get(round % 100))
                    .and_then(|t| t["id"].as_i64())
                {
                    let created = http
                        .post(format!("{base}/api/tasks/{task}/annotations/"))
                        .header("Authorization", &auth)
                        .json(&json!({"result": [{"value": {"choices": ["cat"]}}]}))
                        .send()
                        .await;
                    requests += 1;
                    match created {
                        Ok(response) if response.status().as_u16() == 201 => {}
                        Ok(response) => failures.push(format!("annotation: {}", response.status())),
                        Err(err) => failures.push(format!("annotation: {err}")),
                    }
                }
                let read = http
                    .get(format!("{base}/api/storages/localfiles/{storage}"))
                    .header("Authorization", &auth)
                    .send()
                    .await;
                requests += 1;
                match read {
                    Ok(response) if response.status().is_success() => {}
                    Ok(response) => failures.push(format!("storage: {}", response.status())),
                    Err(err) => failures.push(format!("storage: {err}")),
                }
            }
            (list_latencies, requests, failures)
        }));
    }
    let (mut latencies, mut requests, mut failures) = (Vec::new(), 0, Vec::new());
    for worker in workers {
        let (l, r, f) = worker.await.unwrap();
        latencies.extend(l);
        requests += r;
        failures.extend(f);
    }
    latencies.sort();
    let pick = |q: f64| {
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    println!("requests {requests} failures {}", failures.len());
    println!(
        "task list: n={} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        latencies.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
    for failure in failures.iter().take(5) {
        println!("failure: {failure}");
    }
}

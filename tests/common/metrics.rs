//! Reading a gateway's Prometheus text.

/// `GET /metrics` on 127.0.0.1:`port`; it must answer 200.
pub async fn scrape(port: u16) -> String {
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// The values of the sample lines of `name` that carry every one of `labels`
/// (e.g. `name{a="b"} 3`).
pub fn samples<'a>(
    text: &'a str,
    name: &'a str,
    labels: &'a [&'a str],
) -> impl Iterator<Item = f64> + 'a {
    text.lines()
        .filter(move |l| l.starts_with(name) && labels.iter().all(|lab| l.contains(lab)))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
}

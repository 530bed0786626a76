use super::*;

async fn read_all<S: AsRef<str>>(parts: &[S]) -> Result<(Chunks, Envelope), Refusal> {
    let chunks: Vec<Result<Frame<Bytes>, std::io::Error>> = parts
        .iter()
        .map(|p| Ok(Frame::data(Bytes::copy_from_slice(p.as_ref().as_bytes()))))
        .collect();
    let body = Body::new(http_body_util::StreamBody::new(futures::stream::iter(
        chunks,
    )));
    read(body, 1024, Duration::from_secs(5)).await
}

#[tokio::test]
async fn reads_the_id_of_a_request_across_chunks() {
    let (chunks, env) = read_all(&[
        r#"{"jsonrpc":"2.0","params":{"x":[1,{"id":9}]},"i"#,
        r#"d":7,"method":"ping"}"#,
    ])
    .await
    .unwrap();
    assert_eq!(env.id, Some(RequestId::Number(7)));
    assert_eq!(env.method.as_deref(), Some("ping"));
    assert_eq!(chunks.len, 68);
    let body = chunks.into_body().collect().await.unwrap().to_bytes();
    assert!(body.ends_with(br#""method":"ping"}"#));
    // 1.0 is the integer 1 to rmcp, so it is to the duplicate check too.
    let (_, env) = read_all(&[r#"{"id":1.0,"method":"initialize"}"#])
        .await
        .unwrap();
    assert_eq!(env.id, Some(RequestId::Number(1)));
    assert!(env.is_initialize());
    // A response (no method) carries no request id.
    let (_, env) = read_all(&[r#"{"jsonrpc":"2.0","id":"a","result":{}}"#])
        .await
        .unwrap();
    assert_eq!(env.id, None);
}

#[tokio::test]
async fn reads_the_tool_a_call_names() {
    let call = |params: &str| format!(r#"{{"id":1,"method":"tools/call","params":{params}}}"#);
    let tool = |body: String| async move { read_all(&[body]).await.map(|(_, e)| e.tool) };
    let got = tool(call(
        r#"{"arguments":{"name":"x"},"name":"create\u005fnote"}"#,
    ))
    .await;
    assert_eq!(
        got.unwrap().as_deref(),
        Some("create_note"),
        "escapes decoded"
    );
    assert_eq!(tool(call("{}")).await.unwrap(), None);
    assert_eq!(
        tool(r#"{"id":1,"method":"ping","params":{"name":7}}"#.into())
            .await
            .unwrap(),
        None
    );
    for bad in [r#"{"name":7}"#, r#"{"name":"a","name":"b"}"#, "[1]"] {
        assert!(
            matches!(tool(call(bad)).await, Err(Refusal::Rpc(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn refusals() {
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![r#"[{"id":1}]"#.into()], "jsonrpc_invalid"),
        (vec!["7".into()], "jsonrpc_invalid"),
        (vec![r#"{"id":1,"#.into()], "json_syntax"),
        (vec![r#"{"id":{}, "method":"x"}"#.into()], "jsonrpc_invalid"),
        (vec![r#"{"id":1, "id":2}"#.into()], "jsonrpc_invalid"),
        (vec!["[".repeat(40)], "json_limits"),
        // The rest of a refused body is read (and dropped) up to the limit...
        (vec!["{x".into(), "y".repeat(900)], "json_syntax"),
        // ...but not past it.
        (vec!["{x".into(), "y".repeat(1100)], "body_too_large"),
        (
            vec![format!("\"{}", "x".repeat(1000)), "y".repeat(100)],
            "body_too_large",
        ),
    ];
    for (parts, reason) in cases {
        let got = read_all(&parts).await.err().map(|r| r.reason());
        assert_eq!(got, Some(reason), "{parts:?}");
    }
    let long = format!(
        r#"{{"id":"{}","method":"ping"}}"#,
        "i".repeat(MAX_ID_BYTES + 1)
    );
    assert!(matches!(read_all(&[&long]).await, Err(Refusal::Rpc(_))));
}

#[tokio::test]
async fn one_parse_reads_the_meta_the_edge_and_the_tracing_need() {
    let body = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                 "tracestate":"a=b","baggage":7,"other":{"x":[1]}},
        "name":"get_note","arguments":{"uid":"n1"}}}"#;
    let (_, env) = read_all(&[body]).await.unwrap();
    assert_eq!(env.tool.as_deref(), Some("get_note"));
    assert_eq!(env.len, body.len());
    assert_eq!(env.meta.protocol_version.as_deref(), Some("2026-07-28"));
    assert_eq!(
        env.meta.traceparent.as_deref(),
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    );
    assert_eq!(env.meta.tracestate.as_deref(), Some("a=b"));
    // Not a string: left to rmcp, not kept.
    assert_eq!(env.meta.baggage, None);
    // A repeated key: the last one counts, as in rmcp's own parse of `_meta`.
    let twice = r#"{"id":1,"method":"tools/call","params":{"name":"get_note","_meta":{
        "io.modelcontextprotocol/protocolVersion":"2025-11-25",
        "io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    let (_, env) = read_all(&[twice]).await.unwrap();
    assert_eq!(env.meta.protocol_version.as_deref(), Some("2026-07-28"));
    // Without params, or for another method, nothing is read from them.
    let (_, env) = read_all(&[r#"{"id":1,"method":"ping"}"#]).await.unwrap();
    assert_eq!(env.meta, Meta::default());
    assert_eq!(env.tool, None);
    // A duplicate name matters only to a tool call.
    let dup = r#"{"id":1,"method":"ping","params":{"name":"a","name":"b"}}"#;
    assert!(read_all(&[dup]).await.is_ok());
}

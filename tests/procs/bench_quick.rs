//! The benchmark's `--quick` mode as a CI smoke test: the same code as
//! `cargo bench --bench gateway -- --quick`, against the gateway binary this test build
//! made, with the emulator in-process. It checks that every call succeeds; it never
//! looks at timing (a debug build on a shared CI machine says nothing about speed).

#[allow(dead_code)]
#[path = "../../benches/gateway.rs"]
mod gateway;

#[test]
fn quick_benchmark_runs_without_errors() {
    let report = gateway::run_blocking(gateway::Options {
        quick: true,
        bin: env!("CARGO_BIN_EXE_toolbridge-mcp").to_owned(),
        emu: gateway::EmuSpawn::InProcess,
        only: None,
        window: None,
    });
    println!("{report}");
    assert!(report.total_calls() > 0, "the benchmark made no calls");
    assert_eq!(
        report.total_errors(),
        0,
        "calls failed; first error: {:?}",
        report.first_error()
    );
}

//! The log-leak watch. With `TOOLBRIDGE_LEAK_DIR` set (as `.ci/run` does), every test
//! process logs at TRACE for every crate into that folder, every gateway binary a test
//! starts logs at debug there too, and every secret the tests use (tenant and JWT
//! secrets, every minted token, every signature the API received) is written down beside
//! the logs. `tests/leak_scan.py` then searches all the logs for all the secrets and every
//! 16-character piece of every signature and token. Without the variable, only the
//! in-memory capture that some tests assert on is kept.

use std::{
    io::Write,
    path::PathBuf,
    sync::{Arc, OnceLock},
};

use parking_lot::Mutex;

/// The folder named by `TOOLBRIDGE_LEAK_DIR`, created on first use.
pub fn dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = PathBuf::from(std::env::var_os("TOOLBRIDGE_LEAK_DIR")?);
        std::fs::create_dir_all(&d).ok()?;
        Some(d)
    })
    .clone()
}

fn process_tag() -> String {
    let exe = std::env::current_exe().ok();
    let name = exe
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "test".into());
    format!("{name}-{}", std::process::id())
}

/// Writes down secrets that must never appear in a log.
pub fn record<'a>(secrets: impl IntoIterator<Item = &'a str>) {
    let Some(d) = dir() else { return };
    let path = d.join(format!("{}.secrets", process_tag()));
    let mut text = String::new();
    for s in secrets {
        text.push_str(s);
        text.push('\n');
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

/// Where a gateway binary should write its log, when watching.
pub fn binary_log_path() -> Option<PathBuf> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dir().map(|d| d.join(format!("{}-binary{n}.log", process_tag())))
}

/// Every log line of this process from the first call on, at TRACE for every crate; also
/// written to the leak folder when watching. Installs the global subscriber once.
pub fn capture() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let file = dir()
            .and_then(|d| std::fs::File::create(d.join(format!("{}.log", process_tag()))).ok());
        let file = Arc::new(Mutex::new(file));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Tee(sink.clone(), file.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        record([super::TENANT_SECRET, super::JWT_SECRET]);
        buf
    })
    .clone()
}

struct Tee(Arc<Mutex<Vec<u8>>>, Arc<Mutex<Option<std::fs::File>>>);

impl Write for Tee {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        if let Some(f) = self.1.lock().as_mut() {
            let _ = f.write_all(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capture when the leak watch is on (tests that assert on logs call
/// [`capture`] themselves).
pub fn watch() {
    if dir().is_some() {
        capture();
    }
}

/// Writes down every signature an emulator received.
pub fn record_signatures(emulator: &toolbridge_mcp::emulator::Emulator) {
    if dir().is_none() {
        return;
    }
    let sigs: Vec<String> = emulator
        .requests()
        .iter()
        .filter_map(|r| r.header("x-tb-signature").map(str::to_owned))
        .collect();
    record(sigs.iter().map(String::as_str));
}

use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const BASE: &[(&str, &str)] = &[
    ("TOOLBRIDGE_TENANT_ID", "tenant-1"),
    ("TOOLBRIDGE_TENANT_HEADER_SECRET", "s3cret"),
];

/// The start-up error of [`BASE`] with `key=value` added.
fn refused(key: &str, value: &str) -> String {
    let mut vars = env(BASE);
    vars.push((key.into(), value.into()));
    Config::load_from(None, None, vars).unwrap_err().to_string()
}

#[test]
fn defaults_match_the_sidecar() {
    let c = Config::load_from(None, None, env(BASE)).unwrap();
    assert_eq!(c.port, 8001);
    assert_eq!(c.host.to_string(), "0.0.0.0");
    assert_eq!(c.api_base(), "http://localhost:8080");
    assert_eq!(c.max_timestamp_skew, Duration::from_secs(300));
    assert_eq!(c.session_mode, SessionMode::Reuse);
    assert_eq!(c.api_generation, ApiGeneration::Auto);
    assert_eq!(c.effective_tenant_mode(), TenantMode::Signed);
    assert_eq!(c.backend_auth, BackendAuth::Passthrough);
    assert_eq!(c.effective_auth_mode(), AuthMode::Passthrough);
    assert!(!c.effective_auth_required());
}

#[test]
fn missing_tenant_names_the_variable() {
    let err = Config::load_from(None, None, env(&[("TOOLBRIDGE_TENANT_HEADER_SECRET", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("TOOLBRIDGE_TENANT_ID"), "{err}");
    // Without a secret the tenant header is plain; `signed` asked for needs the secret.
    let c = Config::load_from(None, None, env(&[("TOOLBRIDGE_TENANT_ID", "t")])).unwrap();
    assert_eq!(c.effective_tenant_mode(), TenantMode::Plain);
    let err = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            ("TOOLBRIDGE_TENANT_MODE", "signed"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("TENANT_HEADER_SECRET"), "{err}");
    // resolve needs no tenant id (it is only the fallback).
    let c = Config::load_from(None, None, env(&[("TOOLBRIDGE_TENANT_MODE", "resolve")])).unwrap();
    assert_eq!(c.effective_tenant_mode(), TenantMode::Resolve);
}

#[test]
fn generation_tenant_and_backend_modes_parse() {
    let c = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            ("TOOLBRIDGE_API_GENERATION", "current"),
            ("TOOLBRIDGE_TENANT_MODE", "plain"),
            ("TOOLBRIDGE_BACKEND_AUTH", "exchange"),
            (
                "TOOLBRIDGE_TOKEN_EXCHANGE_URL",
                "https://as.example.com/token",
            ),
            ("TOOLBRIDGE_TOKEN_EXCHANGE_CLIENT_ID", "gw"),
            ("TOKEN_EXCHANGE_CLIENT_SECRET", "cs"),
        ]),
    )
    .unwrap();
    assert_eq!(c.api_generation.fixed(), Some(Generation::Current));
    assert_eq!(c.effective_tenant_mode(), TenantMode::Plain);
    assert_eq!(c.backend_auth, BackendAuth::Exchange);
    assert_eq!(c.token_exchange_client_secret.expose(), "cs");
    assert!(!format!("{c:?}").contains("\"cs\""));
    let err = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            (
                "TOOLBRIDGE_TOKEN_EXCHANGE_URL",
                "https://as.example.com/token",
            ),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("TOOLBRIDGE_TOKEN_EXCHANGE_CLIENT_ID"), "{err}");
    let err = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            ("TOOLBRIDGE_API_GENERATION", "newest"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("TOOLBRIDGE_API_GENERATION"), "{err}");
}

#[test]
fn unprefixed_aliases_are_accepted_and_prefixed_wins() {
    let c = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            ("TENANT_HEADER_SECRET", "from-alias"),
            ("JWT_HS256_SECRET", "jwt-alias"),
        ]),
    )
    .unwrap();
    assert_eq!(c.tenant_header_secret.expose(), "from-alias");
    assert_eq!(c.jwt_hs256_secret.expose(), "jwt-alias");
    assert_eq!(c.effective_auth_mode(), AuthMode::Verify);
    assert!(c.effective_auth_required());
    let c = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            ("TENANT_HEADER_SECRET", "from-alias"),
            ("TOOLBRIDGE_TENANT_HEADER_SECRET", "prefixed"),
        ]),
    )
    .unwrap();
    assert_eq!(c.tenant_header_secret.expose(), "prefixed");
}

#[test]
fn numeric_looking_strings_and_lists() {
    let c = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "12345"),
            ("TOOLBRIDGE_TENANT_HEADER_SECRET", "987654321"),
            ("TOOLBRIDGE_PORT", "9001"),
            ("TOOLBRIDGE_ALLOWED_HOSTS", "a.fly.dev, b.example.com"),
            ("TOOLBRIDGE_SESSION_MODE", "reuse"),
        ]),
    )
    .unwrap();
    assert_eq!(c.tenant_id, "12345");
    assert_eq!(c.tenant_header_secret.expose(), "987654321");
    assert_eq!(c.port, 9001);
    assert_eq!(c.allowed_hosts, vec!["a.fly.dev", "b.example.com"]);
    assert_eq!(c.session_mode, SessionMode::Reuse);
}

#[test]
fn invalid_values_name_their_variable_and_hide_secrets() {
    for (key, value, var) in [
        ("TOOLBRIDGE_PORT", "eighty", "TOOLBRIDGE_PORT"),
        ("TOOLBRIDGE_PORT", "70000", "TOOLBRIDGE_PORT"),
        (
            "TOOLBRIDGE_GO_API_BASE_URL",
            "not a url",
            "TOOLBRIDGE_GO_API_BASE_URL",
        ),
        (
            "TOOLBRIDGE_GO_API_BASE_URL",
            "ftp://x",
            "TOOLBRIDGE_GO_API_BASE_URL",
        ),
        (
            "TOOLBRIDGE_SESSION_MODE",
            "sometimes",
            "TOOLBRIDGE_SESSION_MODE",
        ),
        ("TOOLBRIDGE_LOG_LEVEL", "[[[", "TOOLBRIDGE_LOG_LEVEL"),
        (
            "TOOLBRIDGE_JWT_LEEWAY_SECONDS",
            "3600",
            "TOOLBRIDGE_JWT_LEEWAY_SECONDS",
        ),
        (
            "TOOLBRIDGE_CONNECT_TIMEOUT_SECONDS",
            "0",
            "TOOLBRIDGE_CONNECT_TIMEOUT_SECONDS",
        ),
        ("TOOLBRIDGE_AUTH_MODE", "verify", "TOOLBRIDGE_AUTH_MODE"),
    ] {
        let err = refused(key, value);
        assert!(err.contains(var), "{key}={value}: {err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}

#[test]
fn precedence_toml_then_dotenv_then_env() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("c.toml");
    std::fs::write(
        &toml,
        "tenant_id = \"from-toml\"\nport = 7000\nlog_level = \"debug\"\nhost = \"127.0.0.1\"\n",
    )
    .unwrap();
    let dotenv = dir.path().join(".env");
    std::fs::write(
        &dotenv,
        "TOOLBRIDGE_PORT=7100\nTOOLBRIDGE_TENANT_HEADER_SECRET=dot\nTOOLBRIDGE_LOG_LEVEL=\n",
    )
    .unwrap();
    let c = Config::load_from(
        Some(&toml),
        Some(&dotenv),
        env(&[("TOOLBRIDGE_PORT", "7200")]),
    )
    .unwrap();
    assert_eq!(c.tenant_id, "from-toml");
    assert_eq!(c.port, 7200, "env beats .env beats toml");
    assert_eq!(c.tenant_header_secret.expose(), "dot");
    assert_eq!(
        c.log_level, "debug",
        "an empty .env value does not blank the toml one"
    );
    assert_eq!(c.host.to_string(), "127.0.0.1");
    let c = Config::load_from(Some(&toml), Some(&dotenv), Vec::new()).unwrap();
    assert_eq!(c.port, 7100);
}

#[test]
fn debug_output_redacts_secrets() {
    let c = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            ("TOOLBRIDGE_TENANT_HEADER_SECRET", "very-secret-value"),
            ("TOOLBRIDGE_JWT_HS256_SECRET", "jwt-secret-value"),
            ("TOOLBRIDGE_TOKEN", "bearer-token-value"),
        ]),
    )
    .unwrap();
    let dbg = format!("{c:?}");
    for s in [
        "very-secret-value",
        "jwt-secret-value",
        "bearer-token-value",
    ] {
        assert!(!dbg.contains(s), "{dbg}");
    }
}

/// A config error names the key and where it is, and never shows a secret's value: not
/// for a TOML syntax error on the secret's own line, not for a `.env` line that does not
/// parse, not for a value of the wrong type.
#[test]
fn errors_name_the_key_and_never_show_a_secret() {
    const VALUE: &str = "hunter2-very-secret-value";
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "toml",
            format!("tenant_id = \"t\"\ntenant_header_secret = \"{VALUE}\nport = 1\n"),
            &["line 2", "TOOLBRIDGE_TENANT_HEADER_SECRET"][..],
        ),
        (
            "toml",
            format!("jwt_hs256_secret = [\"{VALUE}\"]\ntenant_id = \"t\"\n"),
            &["TOOLBRIDGE_JWT_HS256_SECRET", "expected"][..],
        ),
        (
            "toml",
            format!("token = {{ x = \"{VALUE}\" }}\ntenant_id = \"t\"\n"),
            &["TOOLBRIDGE_TOKEN"][..],
        ),
        (
            "env",
            format!("TOOLBRIDGE_TENANT_ID=t\nTENANT_HEADER_SECRET=\"{VALUE}\n"),
            &["TENANT_HEADER_SECRET", "cannot be parsed"][..],
        ),
        (
            "env",
            format!("TOOLBRIDGE_TENANT_ID=t\nTOOLBRIDGE_TOKEN='{VALUE}\n"),
            &["TOOLBRIDGE_TOKEN"][..],
        ),
    ];
    for (i, (kind, text, wanted)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.{kind}"));
        std::fs::write(&path, text).unwrap();
        let (toml, dotenv) = if *kind == "toml" {
            (Some(path.as_path()), None)
        } else {
            (None, Some(path.as_path()))
        };
        let err = Config::load_from(
            toml,
            dotenv,
            env(&[("TOOLBRIDGE_TENANT_HEADER_SECRET", "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("hunter2"), "case {i}: {err}");
        for w in *wanted {
            assert!(err.contains(w), "case {i}: {w:?} missing from {err}");
        }
    }
    // A bad value of an ordinary key is still shown: it helps and hides nothing.
    let path = dir.path().join("port.toml");
    std::fs::write(&path, "port = \"eighty\"\n").unwrap();
    let err = Config::load_from(Some(&path), None, env(BASE))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TOOLBRIDGE_PORT") && err.contains("eighty"),
        "{err}"
    );
}

#[test]
fn the_new_limits_are_validated() {
    for (key, value) in [
        ("TOOLBRIDGE_MAX_SESSIONS_PER_USER", "0"),
        ("TOOLBRIDGE_MAX_REQUESTS_PER_USER", "0"),
        ("TOOLBRIDGE_USER_REQUESTS_PER_SECOND", "-1"),
        ("TOOLBRIDGE_RESPONSE_TIMEOUT_SECONDS", "0"),
    ] {
        let err = refused(key, value);
        assert!(err.contains(key), "{key}={value}: {err}");
    }
    let c = Config::load_from(None, None, env(BASE)).unwrap();
    assert_eq!(c.max_body_bytes, 1024 * 1024);
    assert_eq!(c.max_sessions_per_user, 32);
}

/// The key table makes the README's configuration table and `.env.example`; a document
/// that differs fails with a diff (`UPDATE_CONFIG_DOCS=1` writes it instead).
mod docs {
    use std::path::Path;

    use super::super::docs::{env_example, readme_table, splice_readme};

    fn check(name: &str, made: impl FnOnce(&str) -> String) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let made = made(&text);
        if text == made {
            return;
        }
        if std::env::var_os("UPDATE_CONFIG_DOCS").is_some() {
            std::fs::write(&path, &made).unwrap();
            return;
        }
        let diff = similar::TextDiff::from_lines(&text, &made);
        panic!(
            "{name} is not what the key table in src/config.rs makes (- the file, + the table); \
             UPDATE_CONFIG_DOCS=1 cargo test --lib config::tests::docs writes it:\n{}",
            diff.unified_diff().header(name, "from the key table")
        );
    }

    #[test]
    fn env_example_is_made_from_the_key_table() {
        check(".env.example", |_| env_example());
    }

    #[test]
    fn readme_table_is_made_from_the_key_table() {
        check("README.md", |readme| {
            splice_readme(readme, &readme_table()).unwrap_or_else(|| {
                panic!("README.md: the configuration table's markers are missing")
            })
        });
    }
}

#[test]
fn the_key_table_is_sound() {
    let mut names: Vec<_> = KEYS.iter().map(|k| k.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), KEYS.len(), "a key is listed twice");
    for key in KEYS {
        assert!(!key.doc.is_empty(), "{}: no doc", key.name);
        assert_eq!(key.name, key.name.to_ascii_lowercase(), "{}", key.name);
    }
    let secrets: Vec<_> = KEYS.iter().filter(|k| k.secret).map(|k| k.name).collect();
    assert_eq!(
        secrets,
        [
            "tenant_header_secret",
            "token_exchange_client_secret",
            "jwt_hs256_secret",
            "token"
        ]
    );
    // Every default reads (Default would panic otherwise) and is what the sidecar had.
    let c = Config::default();
    assert_eq!(c.request_timeout, Duration::from_secs(30));
    assert_eq!(c.connect_timeout, Duration::from_secs(2));
    assert_eq!(c.upstream_max_body_bytes, 8 * 1024 * 1024);
    assert_eq!(c.metrics_port, None);
    assert_eq!(c.tenant_mode, None);
}

#[test]
fn durations_and_urls_are_typed_as_they_are_read() {
    let c = Config::load_from(
        None,
        None,
        env(&[
            ("TOOLBRIDGE_TENANT_ID", "t"),
            ("TOOLBRIDGE_REQUEST_TIMEOUT_SECONDS", "2.5"),
            ("TOOLBRIDGE_OIDC_ISSUER", "https://x.authkit.app"),
            ("TOOLBRIDGE_GO_API_BASE_URL", "http://127.0.0.1:9/api/"),
        ]),
    )
    .unwrap();
    assert_eq!(c.request_timeout, Duration::from_millis(2500));
    // An issuer is kept as written: it is compared as a string.
    assert_eq!(
        c.oidc_issuer.as_ref().unwrap().as_str(),
        "https://x.authkit.app"
    );
    assert_eq!(c.api_base(), "http://127.0.0.1:9/api");
    for (key, value) in [
        ("TOOLBRIDGE_REQUEST_TIMEOUT_SECONDS", "-1"),
        ("TOOLBRIDGE_TENANT_CACHE_SECONDS", "1.5"),
        ("TOOLBRIDGE_JWKS_URL", "file:///etc/passwd"),
        ("TOOLBRIDGE_AUTHORIZATION_SERVERS", "https://a/, nope"),
    ] {
        let err = refused(key, value);
        assert!(err.contains(key), "{key}={value}: {err}");
    }
}

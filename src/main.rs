//! The `toolbridge-mcp` binary: parses the command line and hands over to the library.

use std::{net::IpAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use toolbridge_mcp::{
    config::{Config, LogFormat},
    emulator::{EmulatorConfig, Generation},
    run, telemetry,
};

#[derive(Parser)]
#[command(
    name = "toolbridge-mcp",
    version,
    about = "MCP gateway for the ToolBridge API"
)]
struct Cli {
    /// Optional TOML config file (lowest precedence after the defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default): MCP over streamable HTTP on TOOLBRIDGE_HOST:TOOLBRIDGE_PORT.
    Serve,
    /// Run the gateway on 127.0.0.1 against an embedded API emulator, and print a dev token.
    Demo {
        /// Gateway port.
        #[arg(long, default_value_t = 8001)]
        port: u16,
        /// Emulator port (0: any free port).
        #[arg(long, default_value_t = 0)]
        api_port: u16,
    },
    /// Mint an HS256 dev token for a user.
    Token {
        /// The user (`sub` claim).
        #[arg(long)]
        sub: String,
        /// The HS256 secret (default: TOOLBRIDGE_JWT_HS256_SECRET or JWT_HS256_SECRET).
        #[arg(long, env = "JWT_HS256_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: u64,
    },
    /// Serve the same tools over MCP stdio (for Claude Desktop); the token comes from TOOLBRIDGE_TOKEN.
    Stdio,
    /// Check the configuration, the API's health, and that the API accepts the signature and a token.
    Check {
        /// The token to test with (default: TOOLBRIDGE_TOKEN).
        #[arg(long)]
        token: Option<String>,
    },
    /// Run the ToolBridge API emulator alone (a stand-in API for local runs and tests).
    Emulator {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The API generation to play: `seed` (signed tenant headers, five entities) or
        /// `current` (plain tenant header, tenant lookup, token exchange, seven entities).
        #[arg(long, default_value = "seed")]
        generation: Generation,
        /// current: the membership table standing in for WorkOS, a JSON file
        /// `{"sub": [{"id": "org_1", "name": "Acme"}]}` (default: a service that knows nobody).
        #[arg(long, value_name = "FILE")]
        memberships: Option<PathBuf>,
        /// Turn the contract's per-user rate limits off (entity routes and auth routes).
        #[arg(long)]
        no_rate_limit: bool,
    },
}

/// The emulator's settings, from the same variables the real API of that generation reads.
fn emulator_config(
    generation: Generation,
    memberships: Option<&std::path::Path>,
    no_rate_limit: bool,
) -> Result<EmulatorConfig, run::RunError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let first = |names: &[&str]| names.iter().find_map(|n| var(n));
    let mut cfg = match generation {
        Generation::Seed => EmulatorConfig::default(),
        Generation::Current => EmulatorConfig::current(),
    };
    if let Some(v) = first(&["JWT_HS256_SECRET", "TOOLBRIDGE_JWT_HS256_SECRET"]) {
        cfg.jwt_hs256_secret = v;
    }
    cfg.dev_mode = var("ENV").as_deref() == Some("dev");
    let both_or_neither = |a: &str, b: &str| match (var(a), var(b)) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        (None, None) => Ok(None),
        _ => Err(toolbridge_mcp::config::ConfigError::Invalid {
            var: format!("{a} / {b}"),
            why: "set both or neither (the API does not start with only one)".into(),
        }),
    };
    match generation {
        Generation::Seed => {
            if let Some(v) = first(&["TENANT_HEADER_SECRET", "TOOLBRIDGE_TENANT_HEADER_SECRET"]) {
                cfg.tenant_header_secret = Some(v);
            }
            if let Some(v) = first(&["TOOLBRIDGE_TENANT_ID", "TENANT_ID"]) {
                cfg.tenant_id = v;
            }
            if let Some((domain, audience)) = both_or_neither("AUTH0_DOMAIN", "AUTH0_AUDIENCE")? {
                cfg.jwt_issuer = Some(format!("https://{domain}/"));
                cfg.jwks_url = Some(format!("https://{domain}/.well-known/jwks.json"));
                cfg.jwt_audiences = vec![audience];
            }
        }
        Generation::Current => {
            if let Some(v) = var("DEFAULT_TENANT_ID") {
                cfg.default_tenant_id = v;
            }
            if let Some((issuer, jwks)) = both_or_neither("JWT_ISSUER", "JWT_JWKS_URL")? {
                cfg.jwt_issuer = Some(issuer);
                cfg.jwks_url = Some(jwks);
            }
            cfg.jwt_audiences = ["JWT_AUDIENCE", "MCP_OAUTH_AUDIENCE"]
                .iter()
                .filter_map(|n| var(n))
                .collect();
            if let Some(path) = memberships {
                cfg.memberships = Some(run::read_memberships(path)?);
            }
        }
    }
    if no_rate_limit {
        cfg.rate_limit = None;
        cfg.auth_rate_limit = None;
    }
    Ok(cfg)
}

async fn dispatch(cli: Cli) -> Result<(), run::RunError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = Config::load(cli.config.as_deref())?;
            telemetry::init(&config.log_level, config.log_format);
            run::serve_main(config).await
        }
        Command::Stdio => {
            let config = Config::load(cli.config.as_deref())?;
            telemetry::init(&config.log_level, config.log_format);
            run::stdio_main(config).await
        }
        Command::Check { token } => {
            telemetry::init("warn", LogFormat::Text);
            if run::check_main(cli.config.as_deref(), token).await {
                Ok(())
            } else {
                std::process::exit(1);
            }
        }
        Command::Demo { port, api_port } => {
            telemetry::init("info", LogFormat::Text);
            run::demo(port, api_port).await
        }
        Command::Token {
            sub,
            secret,
            ttl_seconds,
        } => {
            let secret = secret
                .or_else(|| std::env::var("TOOLBRIDGE_JWT_HS256_SECRET").ok())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| toolbridge_mcp::config::ConfigError::Missing {
                    var: "--secret (or JWT_HS256_SECRET)".into(),
                    why: "the HS256 secret the API verifies tokens with",
                })?;
            println!(
                "{}",
                run::token(&secret, &sub, Duration::from_secs(ttl_seconds))
            );
            Ok(())
        }
        Command::Emulator {
            host,
            port,
            generation,
            memberships,
            no_rate_limit,
        } => {
            telemetry::init(
                &std::env::var("TOOLBRIDGE_LOG_LEVEL").unwrap_or_else(|_| "info".into()),
                LogFormat::Text,
            );
            let cfg = emulator_config(generation, memberships.as_deref(), no_rate_limit)?;
            run::emulator_main(cfg, (host, port).into()).await
        }
    }
}

/// mimalloc rather than glibc's malloc: per-thread free lists that a free from another
/// thread does not contend on, which is what a tokio worker pool does all day (a call's
/// buffers are often made on one worker and dropped on the other). Its arenas are left at
/// the kernel's default page size (the `no_thp` feature), and freed memory goes back to
/// the system sooner than by default (`tune`). BENCHMARKS.md, "Fourth pass", has the
/// numbers.
#[cfg(feature = "mimalloc")]
mod allocator {
    use libmimalloc_sys as mi;

    #[global_allocator]
    static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

    /// `mi_option_purge_delay` in mimalloc.h (v3's option enum), which the bindings leave
    /// out: it is the one before `mi_option_use_numa_nodes`, and this fails to build if
    /// the bindings' numbering moves.
    const PURGE_DELAY: mi::mi_option_t = 15;
    const _: () = assert!(PURGE_DELAY + 1 == mi::mi_option_use_numa_nodes);

    /// How long memory freed by a burst of calls stays with mimalloc before it goes back
    /// to the kernel, in ms. mimalloc's default (1 s) outlasts a burst, so a burst's peak
    /// RSS held its freed pages too: 2,000 sessions calling at once peaked at 96.6-98.7 MiB,
    /// against 93.9-95.8 with 10 ms, and no measurable CPU per call between the two.
    const PURGE_AFTER_MS: std::ffi::c_long = 10;

    /// Sets the purge delay, unless the operator set mimalloc's own `MIMALLOC_PURGE_DELAY`.
    /// First thing in `main`: `mi_option_set` is not thread safe.
    pub(super) fn tune() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: no other thread exists yet, and the option takes any number of ms.
        unsafe { mi::mi_option_set(PURGE_DELAY, PURGE_AFTER_MS) };
    }
}

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    allocator::tune();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("toolbridge-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `Dockerfile.mcp` and `supervisord.conf`, read as files: they agree with each other, with
//! `fly.mcp.toml` and with the gateway.

use super::*;

#[derive(Default)]
pub(crate) struct Dockerfile {
    /// `(--from stage or "", source, destination)` of every COPY.
    pub(crate) copies: Vec<(String, String, String)>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) expose: BTreeSet<u16>,
    pub(crate) args: Vec<String>,
    pub(crate) user: String,
    pub(crate) cmd: Vec<String>,
}

pub(crate) fn dockerfile() -> Dockerfile {
    let text = read("Dockerfile.mcp");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => instructions.push(std::mem::take(&mut current) + line),
        }
    }
    let mut df = Dockerfile::default();
    for instruction in instructions {
        let (op, rest) = instruction.split_once(char::is_whitespace).unwrap();
        let words = rest.split_whitespace();
        match op {
            "COPY" => {
                let (flags, paths): (Vec<&str>, Vec<&str>) =
                    words.partition(|w| w.starts_with("--"));
                let from = flags
                    .iter()
                    .find_map(|f| f.strip_prefix("--from="))
                    .unwrap_or("");
                let (dest, sources) = paths.split_last().expect("COPY needs a destination");
                for src in sources {
                    df.copies.push((from.into(), (*src).into(), (*dest).into()));
                }
            }
            "ENV" => df.env.extend(words.map(|w| {
                let (k, v) = w.split_once('=').expect("ENV K=V");
                (k.to_owned(), v.to_owned())
            })),
            "EXPOSE" => df
                .expose
                .extend(words.map(|w| w.trim_end_matches("/tcp").parse::<u16>().unwrap())),
            "ARG" => df
                .args
                .extend(words.map(|w| w.split('=').next().unwrap().to_owned())),
            "USER" => df.user = rest.trim().into(),
            "CMD" => df.cmd = serde_json::from_str(rest).expect("CMD in exec (JSON) form"),
            _ => {}
        }
    }
    df
}

impl Dockerfile {
    /// The `(source, destination)` of the first COPY that `pick`s `(stage, source)`.
    pub(crate) fn copy(&self, what: &str, pick: impl Fn(&str, &str) -> bool) -> (&str, &str) {
        self.copies
            .iter()
            .find(|(from, src, _)| pick(from, src))
            .map(|(_, src, dest)| (src.as_str(), dest.as_str()))
            .unwrap_or_else(|| panic!("Dockerfile.mcp: no COPY of {what}"))
    }
}

type Ini = BTreeMap<String, BTreeMap<String, String>>;

/// supervisord.conf as sections of keys (`;` starts a comment at a line's start or after a space).
fn supervisord_conf() -> Ini {
    let mut ini = Ini::new();
    let mut section = String::new();
    for line in read("supervisord.conf").lines() {
        let line = line.split(" ;").next().unwrap().trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.into();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("supervisord.conf: {line}"));
        ini.entry(section.clone())
            .or_default()
            .insert(k.trim().into(), v.trim().into());
    }
    ini
}

fn num(ini: &Ini, section: &str, key: &str) -> f64 {
    ini[section][key]
        .parse()
        .unwrap_or_else(|_| panic!("[{section}] {key} is not a number"))
}

#[test]
fn dockerfile_supervisord_and_fly_agree() {
    let (df, ini, fly) = (dockerfile(), supervisord_conf(), fly());
    let config = fly_config(&fly);
    let argv = |program: &str| -> Vec<String> {
        ini[&format!("program:{program}")]["command"]
            .split_whitespace()
            .map(Into::into)
            .collect()
    };

    // The binaries supervisord runs are the ones the image holds.
    let (built, gateway) = df.copy("the gateway", |from, _| from == "build");
    assert_eq!(
        Path::new(built).file_name(),
        Path::new(BIN).file_name(),
        "the cargo binary"
    );
    assert_eq!(argv("mcp"), [gateway, "serve"]);
    assert_eq!(
        argv("api")[0],
        df.copy("the API", |from, _| from == "api").1
    );
    // supervisord reads the file the image puts it in.
    let conf_path = df
        .copy("supervisord.conf", |_, src| src == "supervisord.conf")
        .1;
    assert!(df.cmd[0].ends_with("/supervisord"), "CMD {:?}", df.cmd);
    let c = df
        .cmd
        .iter()
        .position(|a| a == "-c")
        .expect("CMD passes -c");
    assert_eq!(df.cmd[c + 1], conf_path);
    assert_ne!(
        df.user.split(':').next(),
        Some("0"),
        "the image runs as a non-root user"
    );
    assert!(!df.user.is_empty() && df.user != "root");

    // Ports: both services and the metrics port are exposed.
    let ports = [api_port(&config), config.port, config.metrics_port.unwrap()];
    for port in ports {
        assert!(df.expose.contains(&port), "EXPOSE lacks {port}");
    }
    // The image's defaults are real keys and agree with Fly's [env].
    let fly_env = BTreeMap::from_iter(fly_env(&fly));
    for (name, value) in &df.env {
        assert!(
            is_config_var(name),
            "Dockerfile.mcp ENV {name}: no such config key"
        );
        if let Some(fly_value) = fly_env.get(name) {
            assert_eq!(
                value, fly_value,
                "{name}: Dockerfile.mcp and fly.mcp.toml differ"
            );
        }
    }

    // Shutdown: supervisord stops mcp then api, one after the other, each within its
    // stopwaitsecs; the gateway needs its grace period; Fly waits for all of it.
    let sup = &ini["supervisord"];
    assert_eq!(sup["nodaemon"], "true");
    for key in ["pidfile", "childlogdir"] {
        assert!(
            sup[key].starts_with("/tmp"),
            "[supervisord] {key} must be writable by uid 1000"
        );
    }
    assert!(ini["unix_http_server"]["file"].starts_with("/tmp/"));
    assert!(num(&ini, "program:api", "priority") < num(&ini, "program:mcp", "priority"));
    assert!(num(&ini, "program:mcp", "stopwaitsecs") > config.shutdown_grace.as_secs_f64());
    let mut stop_total = 0.0;
    for program in ["api", "mcp"] {
        let section = &ini[&format!("program:{program}")];
        let expected = [
            ("autostart", "true"),
            ("autorestart", "true"),
            ("stopsignal", "TERM"),
            ("stdout_logfile", "/dev/stdout"),
            ("stdout_logfile_maxbytes", "0"),
            ("stderr_logfile", "/dev/stderr"),
            ("stderr_logfile_maxbytes", "0"),
        ];
        for (key, value) in expected {
            assert_eq!(
                section.get(key).map(String::as_str),
                Some(value),
                "[program:{program}] {key}"
            );
        }
        assert!(
            !section.contains_key("environment"),
            "[program:{program}]: env is passed through"
        );
        stop_total += num(&ini, &format!("program:{program}"), "stopwaitsecs");
    }
    assert!(
        secs(&fly["kill_timeout"]) > stop_total,
        "kill_timeout must cover {stop_total} s"
    );
}

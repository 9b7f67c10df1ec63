//! A real `redis-server`, started on a free loopback port for one test and stopped at its end.
//!
//! Without `redis-server` on PATH the tests that need it are skipped, each saying so; with the
//! environment variable `CI` set they fail instead.

use std::{
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A running `redis-server` with no persistence: a restart comes back empty.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    password: Option<String>,
    /// With TLS: the directory holding `ca.pem`, `server.pem` and `server.key`.
    tls: Option<PathBuf>,
}

impl RedisServer {
    /// Starts one, or returns `None` (after saying which test is skipped and why) when
    /// `redis-server` is not installed. Panics under `CI`.
    pub fn start(test: &str, password: Option<&str>) -> Option<RedisServer> {
        Self::start_with(test, password, false)
    }

    /// Starts one that speaks TLS only, with a certificate for `localhost` signed by a CA made
    /// for it (`openssl` on PATH); clients find the CA through `SSL_CERT_FILE`
    /// ([`ca_file`](Self::ca_file)).
    pub fn start_tls(test: &str, password: Option<&str>) -> Option<RedisServer> {
        Self::start_with(test, password, true)
    }

    fn start_with(test: &str, password: Option<&str>, tls: bool) -> Option<RedisServer> {
        let mut missing = vec!["redis-server"];
        if tls {
            missing.push("openssl");
        }
        missing.retain(|tool| {
            Command::new(tool)
                .arg(if *tool == "openssl" {
                    "version"
                } else {
                    "--version"
                })
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
        });
        if !missing.is_empty() {
            let why = format!(
                "{} not on PATH (apt-get install redis-server openssl)",
                missing.join(" and ")
            );
            if std::env::var_os("CI").is_some() {
                panic!("{test}: {why}; CI is set, so this fails instead of skipping");
            }
            // Straight to stderr: libtest captures eprintln! of a passing test.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
            return None;
        }
        let tls = tls.then(make_certificates);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            password: password.map(str::to_owned),
            tls,
        };
        server.start_again();
        Some(server)
    }

    /// `redis://[:password@]127.0.0.1:port`.
    pub fn url(&self) -> String {
        let (scheme, host) = match self.tls {
            Some(_) => ("rediss", "localhost"),
            None => ("redis", "127.0.0.1"),
        };
        match &self.password {
            Some(password) => format!("{scheme}://:{password}@{host}:{}", self.port),
            None => format!("{scheme}://{host}:{}", self.port),
        }
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|dir| dir.join("ca.pem"))
    }

    /// Stops the server (SIGKILL): everything it held is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut command = Command::new("redis-server");
        let port = self.port.to_string();
        match &self.tls {
            Some(dir) => {
                let file = |name: &str| dir.join(name).display().to_string();
                command.args(["--port", "0", "--tls-port", &port]).args([
                    "--tls-cert-file",
                    &file("server.pem"),
                    "--tls-key-file",
                    &file("server.key"),
                    "--tls-ca-cert-file",
                    &file("ca.pem"),
                    "--tls-auth-clients",
                    "no",
                ]);
            }
            None => {
                command.args(["--port", &port]);
            }
        }
        command.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let give_up = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < give_up,
                "redis-server did not listen in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.tls {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it, in a fresh directory.
fn make_certificates() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ecwid-inventory-redis-tls-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ]);
    dir
}
